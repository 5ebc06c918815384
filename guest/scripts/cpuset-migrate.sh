# shellcheck shell=bash
# A task bound to C2 in a cgroup whose cpuset.mems is {C,C2} faults half of 256 pages and stops
# itself; the mems then go {C,C2} -> {C,P}. A cgroup v2 cpuset migrates the task's pages from the
# old mems to the new ones, node for node (C2 -> P), and rebinds its policy the same way; then the
# task faults the rest (15 s at most).
cgroup=/sys/fs/cgroup/numacage-cpuset-migrate
v2_cpuset
mkdir -p "$cgroup"
setup_write "$C,$C2" "$cgroup/cpuset.mems"
echo "### migrate"
in_cgroup "$cgroup" cpuset-drop "$C2" > /tmp/numacage-migrate.out
pid=$!
await_stopped "$pid"
mems_answer "$C,$P" "$cgroup/cpuset.mems" "$cgroup/cpuset.mems.effective"
kill -CONT "$pid"
await_bounded "$pid" "$cgroup" 15
cat /tmp/numacage-migrate.out
rmdir "$cgroup"
