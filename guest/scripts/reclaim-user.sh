# shellcheck shell=bash
# needs: fill.sh
# Reclaim of a ,user owner's pages on P under another task's pressure (docs/design/reclaim-user.md).
# Swap on the scratch virtio-blk disk (on C); P's free memory blocks offlined first until about 320
# MiB are left (offlining migrates used pages off P: it must come before the owner places anything);
# the owner (the probe's reclaim-owner, unprivileged, oom_score_adj -1000) places its five sets and
# stops; then fill.sh's unprivileged fill bound to P asks P's free memory + 128 MiB; then the owner,
# continued, says where its pages are before and after it touches them. Swap goes off again on exit:
# later rows assume there is none.
unless_missing /proc/swaps
disk=""
for d in /sys/block/vd[b-z]; do [ -e "$d" ] && disk=/dev/${d##*/} && break; done
[ -n "$disk" ] || setup_failed "no scratch virtio-blk disk for swap (the topology needs one on node $C)"
file=/var/tmp/numacage-reclaim.dat
owner=""
reclaim_offlined=""
reclaim_cleanup() {
  [ -z "$owner" ] || kill -KILL "$owner" 2> /dev/null
  swapoff "$disk" 2> /dev/null
  online_again "$reclaim_offlined"
  rm -f "$file"
}
trap reclaim_cleanup EXIT
if ! mkswap -q "$disk" > /dev/null 2>&1 || ! swapon "$disk"; then setup_failed "swapon $disk failed"; fi
reclaim_offlined=$(run_probe offline-blocks "$P" 320)
head -c $((16 << 20)) /dev/urandom > "$file" && chmod 644 "$file" && sync
echo 1 > /proc/sys/vm/drop_caches
out=/tmp/numacage-reclaim-owner.out
(exec_probe_as_user reclaim-owner "$P" "$file") > "$out" &
owner=$!
echo -1000 > "/proc/$owner/oom_score_adj"
await_stopped "$owner"
state_of "$owner"
# shellcheck disable=SC2154 # state: set by lib.sh's state_of
[ "$state" = T ] || setup_failed "the owner did not stop after placing its pages: $(< "$out")"
counters() {
  echo "### counters-$1"
  grep -E '^(pswpin|pswpout|pgsteal_direct|pgscan_direct|pgdemote_[a-z]+) ' /proc/vmstat
  grep -E 'AnonPages|FilePages|MemFree' "$(node_file "$P" meminfo)"
  grep -E '^VmSwap' "/proc/$owner/status"
}
counters before
# shellcheck disable=SC2034 # read by fill.sh's restore
restore_hook=reclaim_cleanup
fill "$P" 4096 128 "$P" "$P"
counters after
kill -CONT "$owner"
ends_within "$owner" 60 || setup_failed "the owner did not end within 60 s of its continue"
wait "$owner"
status=$?
echo "### owner"
echo "# exit $status"
cat "$out"
