# shellcheck shell=bash
# fill PRESS KEEP_MIB MARGIN_MIB WATCH [BIND_TO]: fills memory until it is answered; parseFill in
# src/invariants/fill.ts reads what it prints.
#
# Filling a whole node under TCG costs about 5 s per GiB (every page is zeroed, and Debian's kernel
# zeroes at allocation too, so growing a HugeTLB pool is no cheaper), so the pressed node PRESS has
# its free memory blocks offlined first by the probe (a quarter of a second for 1.6 GiB) until
# KEEP_MIB are left, and onlined into their zone again on exit. sshd and the shell are protected
# from the OOM killer; the probe's fill runs as the unprivileged user with oom_score_adj 1000 for
# the pressed node's free memory + MARGIN_MIB, bound to BIND_TO when given (MPOL_BIND), else under
# no policy; the OOM killer's lines logged after the fill's own marker are printed. WATCH is the
# node whose numastat and meminfo are read before and after. A kernel without memory hot-remove
# gets the whole fill.
fill() {
  local press=$1 keep_mib=$2 margin_mib=$3 watch=$4 bind_to=${5-}
  local step_mib=32 numastat meminfo free asked marker f pid
  numastat=$(node_file "$watch" numastat)
  meminfo=$(node_file "$watch" meminfo)
  echo "### before"; cat "$numastat"; grep -E 'AnonPages|MemFree' "$meminfo"
  for pid in $(pgrep -x sshd) $$; do echo -1000 > "/proc/$pid/oom_score_adj"; done
  # Global, not local: restore reads them when the shell exits.
  offlined=$(run_probe offline-blocks "$press" "$keep_mib")
  # Off meanwhile, restored after: NUMA balancing would rescan the fill's range over and over
  # (seconds of PTE updates and TLB shootdowns under TCG) and could move spilled pages back to C,
  # hiding the spill. Reclaim and compaction around the pressed node's watermark (watermark
  # boosting, proactive compaction) stalled the fill for up to 25 s under TCG; neither decides where
  # a page may fall back. The killer's task list, written to the serial console a character at a
  # time, costs seconds too.
  # Demotion too, unless it is what the caller tests (keep_demotion=1): left on by a step that died,
  # it would move the fill's pages to a lower tier behind the fill's back.
  saved=""
  for f in /proc/sys/kernel/numa_balancing /proc/sys/vm/watermark_boost_factor /proc/sys/vm/compaction_proactiveness \
    /proc/sys/vm/oom_dump_tasks /sys/kernel/mm/numa/demotion_enabled; do
    [ "$f" = /sys/kernel/mm/numa/demotion_enabled ] && [ "$keep_demotion" = 1 ] && continue
    [ -w "$f" ] && { saved="$saved $f=$(< "$f")"; echo 0 > "$f"; }
  done
  trap restore EXIT
  # A caller whose question is not reclaim (lock_working_set=1) has the programs' resident file pages
  # locked first: without swap they are all reclaim could take, and their owners fault them straight
  # back in. That thrash delayed the answer by 14 to 135 s under TCG (docs/invariants.md).
  # Reclaim then has nothing to take on a full node, so the fill's own kernel allocations (its page
  # tables, GFP_KERNEL: C alone can serve them) must fit between the pressed node's min and low
  # watermarks, where its user pages no longer go: that gap is widened from 0.1% to 10% of each zone
  # (one page table per 2 MiB filled; at the default, one run in five was OOM-killed for one).
  if [ "$lock_working_set" = 1 ]; then
    f=/proc/sys/vm/watermark_scale_factor
    saved="$saved $f=$(< "$f")"; echo 1000 > "$f"
    (exec_probe lock-resident) > /tmp/numacage-lock.out & locker=$!
    await_stopped "$locker"
    echo "### lock"; cat /tmp/numacage-lock.out
  fi
  free=$(awk '/MemFree/ {print int($4/1024)}' "$(node_file "$press" meminfo)")
  asked=$(( (free + margin_mib) / step_mib * step_mib + step_mib ))
  marker="numacage-fill-$$-$(date +%s%N)"; echo "$marker" > /dev/kmsg
  echo "### fill"
  echo "pressed $press offlined_blocks $(echo "$offlined" | grep -c offlined) free_mib $free asked_mib $asked"
  (echo 1000 > /proc/self/oom_score_adj; exec_probe_as_user fill "$asked" "$step_mib" ${bind_to:+"$bind_to"})
  echo "# exit $?"
  echo "### oom"; dmesg | sed -n "/$marker/,\$p" | grep -E 'invoked oom-killer|Killed process|oom-kill:' || true
  echo "### after"; cat "$numastat"; grep -E 'AnonPages|MemFree' "$meminfo"
}

# Set by a caller before it calls fill: what it changed and wants put back however the step ends
# (file=value words), a function of its own to run then too (restore_hook: fill's trap replaces the
# caller's), keep_demotion=1 when demotion is what it tests, and lock_working_set=1 when reclaim is not.
restore_also=${restore_also-}
restore_hook=${restore_hook-}
keep_demotion=${keep_demotion-}
lock_working_set=${lock_working_set-}
locker=""

# online_again LINES: onlines again, each into its zone, the blocks the probe's offline-blocks
# printed.
online_again() {
  echo "$1" | while read -r _ block how; do [ -n "$block" ] && echo "$how" > "$block"; done
}

# Onlines the memory blocks the fill offlined, into their zone, and puts back what it and its caller
# turned off.
restore() {
  if [ -n "$locker" ]; then kill -KILL "$locker" 2>/dev/null; fi
  online_again "$offlined"
  # $saved and $restore_also are lists of file=value words: split on purpose.
  for kv in $saved $restore_also; do echo "${kv#*=}" > "${kv%%=*}"; done
  [ -z "$restore_hook" ] || "$restore_hook"
}
