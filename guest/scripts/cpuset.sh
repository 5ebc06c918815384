# shellcheck shell=bash
# Inside a cgroup whose cpuset.mems is C: mbind and move_pages to P, as the unprivileged user; then
# P is dropped from cpuset.mems {C,P} while a task bound to P has stopped itself half-way through
# faulting a range, and the task is let go on.
cgroup=/sys/fs/cgroup/numacage-cpuset

# exec_in_cgroup ARGS...: moves this (sub)shell into the cgroup, then replaces it with the probe as
# the unprivileged user.
exec_in_cgroup() {
  echo "$BASHPID" > "$cgroup/cgroup.procs" && exec_probe_as_user "$@"
}

set -e
grep -qw cpuset /sys/fs/cgroup/cgroup.subtree_control || echo +cpuset > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p "$cgroup"; echo "$C" > "$cgroup/cpuset.mems"
set +e
echo "### refuse"
(exec_in_cgroup bind "$P"); echo "# exit $?"
(exec_in_cgroup move-pages "$P"); echo "# exit $?"
echo "### drop"
if echo "$C,$P" > "$cgroup/cpuset.mems" 2>/tmp/numacage-cpuset.err; then
  exec_in_cgroup cpuset-drop "$P" > /tmp/numacage-cpuset.out & pid=$!
  await_stopped "$pid"
  echo "$C" > "$cgroup/cpuset.mems"; kill -CONT "$pid"; wait "$pid"; echo "# exit $?"; cat /tmp/numacage-cpuset.out
else echo "mems-refused $(cat /tmp/numacage-cpuset.err)"; fi
rmdir "$cgroup"
