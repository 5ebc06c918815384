# shellcheck shell=bash
# A cgroup's cpuset.mems set to P alone (a task in it then faults 16 MiB, 15 s at most), then a task
# with an interleave policy over {C,P} whose cpuset goes from {C,P} to {P} (a pipe write, then 16
# more pages, under the rebound policy, 15 s at most); the console's complaints after each.
cgroup=/sys/fs/cgroup/numacage-cpuset-private
marker="numacage-cpuset-private-$$-$(date +%s%N)"
echo "$marker" > /dev/kmsg
v2_cpuset
mkdir -p "$cgroup"
setup_write "$C" "$cgroup/cpuset.mems"

echo "### only-p"
# The task joins while the cpuset is C and waits, stopped, for the write: its first fault is its own.
in_cgroup "$cgroup" stopped fill 16 4
pid=$!
await_stopped "$pid"
if mems_answer "$P" "$cgroup/cpuset.mems" "$cgroup/cpuset.mems.effective"; then
  kill -CONT "$pid"
  await_bounded "$pid" "$cgroup" 15
else
  kill -KILL "$pid"
  wait "$pid"
fi
setup_write "$C" "$cgroup/cpuset.mems"

echo "### rebind"
setup_write "$C,$P" "$cgroup/cpuset.mems"
in_cgroup "$cgroup" interleave-rebind "$C" "$P" > /tmp/numacage-rebind.out
pid=$!
await_stopped "$pid"
mems_answer "$P" "$cgroup/cpuset.mems" "$cgroup/cpuset.mems.effective" || setup_write "$C" "$cgroup/cpuset.mems"
kill -CONT "$pid"
await_bounded "$pid" "$cgroup" 15
cat /tmp/numacage-rebind.out

echo "### complaints"
kernel_complaints "$marker"
rmdir "$cgroup"
