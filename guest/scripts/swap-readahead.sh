# shellcheck shell=bash
# Swap readahead across tasks (docs/design/swap-paths.md §1). Swap goes on the scratch virtio-blk
# disk, which virtio_blk always marks rotational: swapon then switches every anonymous swap-in to
# cluster readahead, an aligned block of 2^vm.page-cluster slots (3: eight) around the fault, whoever
# owns them. The probe's swap-ra runs twice as the user in a memory cgroup: arm 0, where the task that
# reads has no policy (the control: the other task's pages must be read ahead at all), then arm 1,
# where it binds to P first. Between the page-outs and the reads, root drops the swap cache
# (memory.reclaim of the cgroup, once the writes are done), so that every read misses it, with
# readahead off (page-cluster 0) until the probe has said so: the drop swaps out the tasks' stacks
# and heaps too, right after their pages, and faulting those back must read none of them. Swap goes
# off again on exit: later rows assume there is none. ARMS picks the arms: "0 1" (swap-readahead),
# "2 3" (swap-readahead-reverse: the other task is bound to P and the reader unbound; swap-ra.c).
unless_missing /proc/swaps
disk=""
for d in /sys/block/vd[b-z]; do [ -e "$d" ] && disk=/dev/${d##*/} && break; done
[ -n "$disk" ] || setup_failed "no scratch virtio-blk disk for swap (the topology needs one on node $C)"
cgroup=/sys/fs/cgroup/numacage-swap-ra
page_cluster=$(< /proc/sys/vm/page-cluster)
ra_cleanup() {
  [ ! -d "$cgroup" ] || echo 1 > "$cgroup/cgroup.kill"
  swapoff "$disk" 2> /dev/null
  [ ! -d "$cgroup" ] || retry_for 10 rmdir "$cgroup"
  echo "$page_cluster" > /proc/sys/vm/page-cluster
}
trap ra_cleanup EXIT
if ! mkswap -q "$disk" > /dev/null 2>&1 || ! swapon "$disk"; then setup_failed "swapon $disk failed"; fi
setup_write 3 /proc/sys/vm/page-cluster
grep -qw memory /sys/fs/cgroup/cgroup.subtree_control || setup_write +memory /sys/fs/cgroup/cgroup.subtree_control
mkdir -p "$cgroup"
echo "### settings"
echo "rotational $(< "/sys/block/${disk##*/}/queue/rotational")"
echo "vma_ra_enabled $(< /sys/kernel/mm/swap/vma_ra_enabled)"
echo "page_cluster $(< /proc/sys/vm/page-cluster)"
# The per-CPU counts fold into /proc/meminfo's only now and then: stat_refresh folds them first.
writeback_done() {
  echo 1 > /proc/sys/vm/stat_refresh 2> /dev/null
  [[ $(grep '^Writeback:' /proc/meminfo) =~ \ 0\ kB ]]
}
# stopped_again PID ARM WHEN: waits (20 s at most) for the probe's stop WHEN, else ends the step.
stopped_again() {
  await_stopped "$1" 20
  state_of "$1"
  # shellcheck disable=SC2154 # state: set by lib.sh's state_of
  [ "$state" = T ] || setup_failed "arm $2: the probe did not stop $3: $(< "$out")"
}
for arm in ${ARMS:-0 1}; do
  out=/tmp/numacage-swap-ra.$arm
  in_cgroup "$cgroup" swap-ra "$arm" "$P" > "$out"
  pid=$!
  stopped_again "$pid" "$arm" "after its page-outs"
  retry_for 20 writeback_done || setup_failed "arm $arm: swap writes still under way after 20 s"
  echo 0 > /proc/sys/vm/page-cluster
  # Asks for all the cgroup holds: what cannot go (page tables) makes the write fail (EAGAIN) once the
  # swap cache has gone, and the probe says what is still cached.
  echo "$(< "$cgroup/memory.current")" > "$cgroup/memory.reclaim" 2> /dev/null
  kill -CONT "$pid"
  stopped_again "$pid" "$arm" "after saying what is still cached"
  echo 3 > /proc/sys/vm/page-cluster
  kill -CONT "$pid"
  ends_within "$pid" 30 || setup_failed "arm $arm: the probe did not end within 30 s of its continue: $(< "$out")"
  wait "$pid"
  status=$?
  echo "### arm-$arm"
  echo "# exit $status"
  cat "$out"
done
