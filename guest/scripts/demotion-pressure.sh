# shellcheck shell=bash
# needs: fill.sh
# With demotion enabled, C pressed by a fill bound to C (so that it cannot simply fall back to P),
# keeping KEEP_MIB of C online and asking MARGIN_MIB past its free memory; P watched; the pgdemote
# counters before and after.
en=/sys/kernel/mm/numa/demotion_enabled
echo "### demotion-was"; cat "$en"; was=$(< "$en"); echo 1 > "$en"
# Read by fill.sh: put back by fill's exit trap however the step ends (a timeout included), and
# demotion left on during the fill, since it is what this step tests.
# shellcheck disable=SC2034
restore_also="$en=$was" keep_demotion=1
echo "### vmstat-before"; grep -E '^pgdemote_' /proc/vmstat
fill "$C" "$KEEP_MIB" "$MARGIN_MIB" "$P" "$C"
echo "### vmstat-after"; grep -E '^pgdemote_' /proc/vmstat
