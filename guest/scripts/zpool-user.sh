# shellcheck shell=bash
# zsmalloc pool pages on P (docs/design/swap-paths.md §2). A 64 MiB zram0 is the only swap. A cgroup
# numacage-zs with a child victim is chowned to the user, as systemd delegates a subtree, so the
# user may write victim/memory.reclaim. V, the user's task in victim, faults 4096 pages under no
# policy and stops. Then the user's zpool-reclaim writes 8M to victim/memory.reclaim twice: arm 1
# bound to P, arm 0 (the control) under no policy. zram compresses the reclaimed pages in the
# writer's context, into zspages that the writer's policy places. Root prints each node's
# nr_zspages, zram0's mm_stat and V's VmSwap before the arms and after each; V, continued, reads its
# pages back and says where they are. The host then looks for the victim's pages inside P's memory:
# a compressed object keeps a page's first bytes, its tag. zram0 is reset on exit: later rows assume
# there is no swap.
[ -e /sys/block/zram0 ] || modprobe zram 2> /dev/null
unless_missing /sys/block/zram0
[[ $(< /proc/swaps) == *$'\n'* ]] && setup_failed "a swap area is already on: $(tail -n +2 /proc/swaps)"
cgroup=/sys/fs/cgroup/numacage-zs
victim=""
zpool_cleanup() {
  [ ! -d "$cgroup/victim" ] || echo 1 > "$cgroup/victim/cgroup.kill"
  swapoff /dev/zram0 2> /dev/null
  echo 1 > /sys/block/zram0/reset
  [ ! -d "$cgroup/victim" ] || retry_for 10 rmdir "$cgroup/victim"
  [ ! -d "$cgroup" ] || retry_for 10 rmdir "$cgroup"
}
trap zpool_cleanup EXIT
echo 1 > /sys/block/zram0/reset
# lzo-rle (the lean kernels' only one) copies a page's first bytes, its tag, into the compressed
# object as they are: the host finds them there. Another compressor is used and named if it is absent.
try_write lzo-rle /sys/block/zram0/comp_algorithm || :
algorithm=$(< /sys/block/zram0/comp_algorithm)
algorithm=${algorithm#*[}
echo "### settings"
echo "comp_algorithm ${algorithm%%]*}"
setup_write 64M /sys/block/zram0/disksize
mkswap -q /dev/zram0 > /dev/null 2>&1 || setup_failed "mkswap /dev/zram0 failed"
swapon /dev/zram0 || setup_failed "swapon /dev/zram0 failed"
grep -qw memory /sys/fs/cgroup/cgroup.subtree_control || setup_write +memory /sys/fs/cgroup/cgroup.subtree_control
mkdir -p "$cgroup"
setup_write +memory "$cgroup/cgroup.subtree_control"
mkdir -p "$cgroup/victim"
chown -R probe:probe "$cgroup"
out=/tmp/numacage-zpool-victim.out
in_cgroup "$cgroup/victim" zpool-victim 4096 > "$out"
victim=$!
await_stopped "$victim" 30
state_of "$victim"
# shellcheck disable=SC2154 # state: set by lib.sh's state_of
[ "$state" = T ] || setup_failed "the victim did not stop after placing its pages: $(< "$out")"
# counters: each node's nr_zspages (the per-CPU deltas folded first), zram0's mm_stat, V's VmSwap.
counters() {
  local d key value
  echo "### counters-$1"
  echo 1 > /proc/sys/vm/stat_refresh 2> /dev/null || setup_failed "vm.stat_refresh refused a write"
  for d in /sys/devices/system/node/node[0-9]*; do
    while read -r key value; do
      [ "$key" = nr_zspages ] && echo "nr_zspages ${d##*/node} $value" && break
    done < "$d/vmstat"
  done
  echo "mm_stat $(< /sys/block/zram0/mm_stat)"
  while read -r key value; do
    [ "$key" = VmSwap: ] && echo "vmswap_kb ${value% kB}" && break
  done < "/proc/$victim/status"
}
counters start
for arm in 1 0; do
  echo "### arm-$arm"
  probe_as_user zpool-reclaim "$arm" "$P" "$cgroup/victim/memory.reclaim"
  counters "$arm"
done
kill -CONT "$victim"
ends_within "$victim" 60 || setup_failed "the victim did not end within 60 s of its continue"
wait "$victim"
status=$?
echo "### victim"
echo "# exit $status"
cat "$out"
