# shellcheck shell=bash
# A child cpuset with mems {C2,P} under a parent with {C,C2,P}. A task in the child stops itself, the
# parent's mems shrink to {C,P}, which leaves the child's effective mems {P} unless the kernel gives
# it more, and the task faults 16 MiB (15 s at most); where the task's own pages went with the
# shrink, and the console's complaints after.
parent=/sys/fs/cgroup/numacage-cpuset-shrink
child=$parent/child
# A task whose cpuset holds P alone can invoke the OOM killer (CONSTRAINT_CPUSET), which then picks
# tasks outside the cpuset too: the SSH session's sshd was its first victim. It and this shell are
# kept out of its reach, and the task itself is its first choice.
for pid in $(pgrep -x sshd) $$; do echo -1000 > "/proc/$pid/oom_score_adj"; done
marker="numacage-cpuset-shrink-$$-$(date +%s%N)"
echo "$marker" > /dev/kmsg
v2_cpuset
mkdir -p "$parent"
setup_write "$C,$C2,$P" "$parent/cpuset.mems"
setup_write +cpuset "$parent/cgroup.subtree_control"
mkdir -p "$child"
setup_write "$C2,$P" "$child/cpuset.mems"

echo "### shrink"
in_cgroup "$child" stopped fill 16 4
pid=$!
await_stopped "$pid"
echo 1000 > "/proc/$pid/oom_score_adj"
mems_answer "$C,$P" "$parent/cpuset.mems" "$child/cpuset.mems.effective"
# The task's own pages (stack, data), faulted on C2 before the shrink and migrated with it.
echo "### numa-maps"; cat "/proc/$pid/numa_maps"
echo "### task"; grep -E '^(State|Mems_allowed_list)' "/proc/$pid/status"
echo "### fill"
kill -CONT "$pid"
await_bounded "$pid" "$child" 15

echo "### complaints"
kernel_complaints "$marker"
dmesg | sed -n "/$marker/,\$p" | grep -E 'invoked oom-killer|Killed process' || true
rmdir "$child" "$parent"
