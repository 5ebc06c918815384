# shellcheck shell=bash
# A cgroup's cpuset.mems set to P alone (a task in it then faults 16 MiB, 15 s at most), then a task
# with an interleave policy over {C,P} whose cpuset goes from {C,P} to {P} (a pipe write, then 16
# more pages, under the rebound policy, 15 s at most); the console's complaints after each.
cgroup=/sys/fs/cgroup/numacage-cpuset-private
marker="numacage-cpuset-private-$$-$(date +%s%N)"
echo "$marker" > /dev/kmsg
grep -qw cpuset /sys/fs/cgroup/cgroup.subtree_control || echo +cpuset > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p "$cgroup"
echo "$C" > "$cgroup/cpuset.mems"

echo "### only-p"
# The task joins while the cpuset is C and waits, stopped, for the write: its first fault is its own.
in_cgroup "$cgroup" stopped fill 16 4
pid=$!
await_stopped "$pid"
if echo "$P" > "$cgroup/cpuset.mems" 2>/tmp/numacage-mems.err; then
  echo "mems-accepted $(cat "$cgroup/cpuset.mems.effective")"
  kill -CONT "$pid"
  await_bounded "$pid" "$cgroup" 15
else
  echo "mems-refused $(sed 's/.*: //' /tmp/numacage-mems.err)"
  kill -KILL "$pid"
  wait "$pid"
fi
echo "$C" > "$cgroup/cpuset.mems"

echo "### rebind"
echo "$C,$P" > "$cgroup/cpuset.mems"
in_cgroup "$cgroup" interleave-rebind "$C" "$P" > /tmp/numacage-rebind.out
pid=$!
await_stopped "$pid"
if echo "$P" > "$cgroup/cpuset.mems" 2>/tmp/numacage-mems.err; then
  echo "mems-accepted $(cat "$cgroup/cpuset.mems.effective")"
else
  echo "mems-refused $(sed 's/.*: //' /tmp/numacage-mems.err)"
  echo "$C" > "$cgroup/cpuset.mems"
fi
kill -CONT "$pid"
await_bounded "$pid" "$cgroup" 15
cat /tmp/numacage-rebind.out

echo "### complaints"
kernel_complaints "$marker"
rmdir "$cgroup"
