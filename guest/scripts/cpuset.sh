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

v2_cpuset
mkdir -p "$cgroup"
setup_write "$C" "$cgroup/cpuset.mems"
echo "### refuse"
(exec_in_cgroup bind "$P"); echo "# exit $?"
(exec_in_cgroup move-pages "$P"); echo "# exit $?"
echo "### drop"
if write_answer "$C,$P" "$cgroup/cpuset.mems" "" mems-refused; then
  exec_in_cgroup cpuset-drop "$P" > /tmp/numacage-cpuset.out & pid=$!
  await_stopped "$pid"
  setup_write "$C" "$cgroup/cpuset.mems"; kill -CONT "$pid"; wait "$pid"; echo "# exit $?"; cat /tmp/numacage-cpuset.out
fi
rmdir "$cgroup"
