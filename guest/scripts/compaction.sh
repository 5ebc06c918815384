# shellcheck shell=bash
# kcompactd and kswapd of P; writing P's compact file with proactive compaction paused (the scan
# counters, kcompactd's own share taken out, tell whether compaction ran); pages bound to P across
# /proc/sys/vm/compact_memory.
unless_missing /proc/sys/vm/compact_memory

# The pages compaction has scanned, kcompactd's own share taken out.
scanned() {
  awk '/^compact_(migrate|free)_scanned/ {s+=$2} /^compact_daemon_(migrate|free)_scanned/ {s-=$2} END {print s+0}' \
    /proc/vmstat
}

echo "### threads"; for t in kcompactd kswapd; do echo "$t $(pgrep -x "$t$P" >/dev/null && echo 1 || echo 0)"; done
echo "### node-compact"; pro=/proc/sys/vm/compaction_proactiveness; old=$(cat "$pro" 2>/dev/null)
[ -n "$old" ] && echo 0 > "$pro"
b=$(scanned)
write_answer 1 "$(node_file "$P" compact)" "write ok" "write refused:"
echo "scanned $(( $(scanned) - b ))"; echo "counters $(grep -c '^compact_migrate_scanned' /proc/vmstat)"
[ -n "$old" ] && echo "$old" > "$pro"
echo "### pages"; probe_as_root compact-pages "$P"
