# shellcheck shell=bash
# set_mempolicy_home_node on fresh mappings, as the unprivileged user, each in a cgroup and 10 s at
# most: PREFERRED_MANY {C} with home P, and BIND {P} with home C.
cgroup=/sys/fs/cgroup/numacage-home-node
mkdir -p "$cgroup"
echo "### preferred-many-home-p"
in_cgroup "$cgroup" home-node MPOL_PREFERRED_MANY "$C" "$P"
await_bounded $! "$cgroup" 10
echo "### bind-p-home-c"
in_cgroup "$cgroup" home-node MPOL_BIND "$P" "$C"
await_bounded $! "$cgroup" 10
rmdir "$cgroup"
