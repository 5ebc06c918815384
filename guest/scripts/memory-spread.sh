# shellcheck shell=bash
# cgroup v1's memory_spread_page: a v1 cpuset hierarchy (cpuset is taken off the v2 root first,
# which only numacage's own cgroups use here), a child cpuset with mems {C,C2,P} and
# memory_spread_page 1, and a task in it that writes a new file of SPREAD_MIB MiB. The hierarchy
# is unmounted on exit and cpuset given back to v2.
mnt=/run/numacage-cpuset-v1
cs=$mnt/numacage-spread
v2=/sys/fs/cgroup
put_back() {
  if mountpoint -q "$mnt"; then
    rmdir "$cs" 2>/dev/null
    # A v1 hierarchy dies at its unmount only if it has no child cgroup then, and a removed child
    # stays one until it is freed, asynchronously: until /proc/cgroups counts the root alone.
    retry_for 60 grep -qE '^cpuset\s+[0-9]+\s+1\s' /proc/cgroups
    umount "$mnt"
  fi
  rmdir "$mnt" 2>/dev/null
  # The controller goes back to v2 once the v1 hierarchy is gone, which is asynchronous too.
  retry_for 60 grep -qw cpuset "$v2/cgroup.controllers"
  [ -z "${v2_cpuset:-}" ] || echo +cpuset > "$v2/cgroup.subtree_control"
}
trap put_back EXIT
grep -qw cpuset "$v2/cgroup.subtree_control" && v2_cpuset=1 && setup_write -cpuset "$v2/cgroup.subtree_control"
mkdir -p "$mnt"
# The v2 hierarchy's cpuset states die asynchronously: the mount is EBUSY until they have.
retry_for 60 mount -t cgroup -o cpuset numacage-cpuset "$mnt" 2>/tmp/numacage-spread.err ||
  setup_failed "a cgroup v1 cpuset hierarchy could not be mounted: $(tail -n 1 /tmp/numacage-spread.err)"
echo "### setup"
# Without CONFIG_CPUSETS_V1 a v1 cpuset hierarchy mounts, with none of its files.
unless_missing "$mnt/cpuset.memory_spread_page"
mkdir "$cs"
setup_write "$(< "$mnt/cpuset.cpus")" "$cs/cpuset.cpus"
mems_answer "$C,$C2,$P" "$cs/cpuset.mems" "$cs/cpuset.effective_mems" || exit 0
setup_write 1 "$cs/cpuset.memory_spread_page"
echo "spread $(< "$cs/cpuset.memory_spread_page")"
echo "### file"
rm -f /var/tmp/numacage-spread
(echo "$BASHPID" > "$cs/tasks" && run_probe spread-file /var/tmp/numacage-spread "$SPREAD_MIB")
echo "# exit $?"
