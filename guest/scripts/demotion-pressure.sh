# shellcheck shell=bash
# needs: fill.sh
# With demotion enabled, C pressed by a fill bound to C (so that it cannot simply fall back to P),
# keeping KEEP_MIB of C online and asking MARGIN_MIB past its free memory; P watched; the pgdemote
# counters before and after.
en=/sys/kernel/mm/numa/demotion_enabled
echo "### demotion-was"; cat "$en"; was=$(cat "$en"); echo 1 > "$en"
echo "### vmstat-before"; grep -E '^pgdemote_' /proc/vmstat
fill "$C" "$KEEP_MIB" "$MARGIN_MIB" "$P" "$C"
echo "### vmstat-after"; grep -E '^pgdemote_' /proc/vmstat
echo "$was" > "$en"
