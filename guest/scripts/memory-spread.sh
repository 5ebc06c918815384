# shellcheck shell=bash
# cgroup v1's memory_spread_page: a v1 cpuset hierarchy (cpuset is taken off the v2 root first,
# which only numacage's own cgroups use here), a child cpuset with mems {C,C2,P} and
# memory_spread_page 1, and a task in it that writes a new file of SPREAD_MIB MiB. The hierarchy
# is unmounted on exit and cpuset given back to v2.
mnt=/run/numacage-cpuset-v1
cs=$mnt/numacage-spread
v2=/sys/fs/cgroup
put_back() {
  rmdir "$cs" 2>/dev/null
  umount "$mnt" 2>/dev/null && rmdir "$mnt"
  # The controller goes back to v2 once the v1 hierarchy is gone, which is asynchronous too.
  for _ in $(seq 50); do grep -qw cpuset "$v2/cgroup.controllers" && break; sleep 0.1; done
  [ -z "${v2_cpuset:-}" ] || echo +cpuset > "$v2/cgroup.subtree_control"
}
trap put_back EXIT
grep -qw cpuset "$v2/cgroup.subtree_control" && v2_cpuset=1 && echo -cpuset > "$v2/cgroup.subtree_control"
mkdir -p "$mnt"
# The v2 hierarchy's cpuset states die asynchronously: the mount is EBUSY until they have.
for _ in $(seq 50); do
  mount -t cgroup -o cpuset numacage-cpuset "$mnt" 2>/tmp/numacage-spread.err && break
  sleep 0.1
done
echo "### setup"
if ! mountpoint -q "$mnt"; then
  echo "mount-failed $(cat /tmp/numacage-spread.err)"
  exit 0
fi
# Without CONFIG_CPUSETS_V1 a v1 cpuset hierarchy mounts, with none of its files.
unless_missing "$mnt/cpuset.memory_spread_page"
mkdir "$cs"
cat "$mnt/cpuset.cpus" > "$cs/cpuset.cpus"
if echo "$C,$C2,$P" > "$cs/cpuset.mems" 2>/tmp/numacage-spread.err; then
  echo "mems-accepted $(cat "$cs/cpuset.effective_mems")"
else
  echo "mems-refused $(sed 's/.*: //' /tmp/numacage-spread.err)"
  exit 0
fi
echo 1 > "$cs/cpuset.memory_spread_page"
echo "spread $(cat "$cs/cpuset.memory_spread_page")"
echo "### file"
rm -f /var/tmp/numacage-spread
(echo "$BASHPID" > "$cs/tasks" && run_probe spread-file /var/tmp/numacage-spread "$SPREAD_MIB")
echo "# exit $?"
