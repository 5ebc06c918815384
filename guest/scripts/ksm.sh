# shellcheck shell=bash
# Two identical MADV_MERGEABLE pairs, one on C (the control) and one on P, with ksmd running for up
# to KSM_WAIT_S seconds; then ksmd's counters, and KSM unmerged and stopped.
ksm=/sys/kernel/mm/ksm
unless_missing "$ksm/run"
echo 1 > "$ksm/run"; echo "### merge"; probe_as_root ksm "$C" "$P" "$KSM_WAIT_S"
echo "### stats"
for f in full_scans pages_shared pages_sharing pages_skipped; do echo "$f $(cat "$ksm/$f" 2>/dev/null || echo 0)"; done
echo 2 > "$ksm/run"; echo 0 > "$ksm/run"
