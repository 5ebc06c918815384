# shellcheck shell=bash
# Surplus HugeTLB pages for an unbound task whose cpuset is {C2,P}: every 2 MiB pool emptied,
# nr_overcommit_hugepages HUGE_PAGES; the user maps HUGE_PAGES pages with MAP_HUGETLB (no policy)
# and touches them (the probe prints every node's surplus pages after the mmap and after the
# faults). The reservation's surplus pages are asked of the cpuset's nodes in id order, P first.
# With RESERVE > 0, C2's pool gets RESERVE pages first and a hugetlbfs mount's min_size reserves
# them all (the free pages the reservation is checked against are then there, and still no surplus
# page may come from P). The mount, the pools, the overcommit and the cgroup are put back on exit.
unless_missing /sys/kernel/mm/hugepages/hugepages-2048kB
hstate=/sys/kernel/mm/hugepages/hugepages-2048kB
overcommit=$hstate/nr_overcommit_hugepages
cgroup=/sys/fs/cgroup/numacage-hugetlb-surplus
mnt=/tmp/numacage-hugetlb-reserve
saved="$overcommit=$(< "$overcommit")"
for f in /sys/devices/system/node/node*/hugepages/hugepages-2048kB/nr_hugepages; do saved="$saved $f=$(< "$f")"; done
# $saved is a list of file=value words: split on purpose. A pool already empty is not written (a
# private node refuses any write without ,user).
put_back() {
  ! mountpoint -q "$mnt" || umount "$mnt"
  for kv in $saved; do [ "$(< "${kv%%=*}")" = "${kv#*=}" ] || echo "${kv#*=}" > "${kv%%=*}"; done
  rmdir "$cgroup" 2>/dev/null || true
}
trap put_back EXIT
for kv in $saved; do [ "${kv#*=}" = 0 ] || echo 0 > "${kv%%=*}"; done
echo "$HUGE_PAGES" > "$overcommit"
if [ "$RESERVE" -gt 0 ]; then
  setup_write "$RESERVE" "$(node_file "$C2" hugepages/hugepages-2048kB/nr_hugepages)"
  mkdir -p "$mnt"
  mount -t hugetlbfs -o "pagesize=2M,min_size=$((RESERVE * 2))M" numacage "$mnt" 2>/tmp/numacage-mount.err ||
    setup_failed "mount -t hugetlbfs -o min_size=$((RESERVE * 2))M: $(cat /tmp/numacage-mount.err)"
fi
node_counts() { # the 2 MiB pool of nodes P and C2, in pages: nr, free, surplus
  local n d
  for n in "$P" "$C2"; do
    d=$(node_file "$n" hugepages/hugepages-2048kB)
    echo "node$n $(< "$d/nr_hugepages") $(< "$d/free_hugepages") $(< "$d/surplus_hugepages")"
  done
}
echo "### pool"
echo "total $(< "$hstate/nr_hugepages")"
echo "overcommit $(< "$overcommit")"
[ "$RESERVE" = 0 ] || echo "reserved $(awk '/^HugePages_Rsvd:/ {print $2}' /proc/meminfo)"
# Whether P and C2 could each give the pages: their free blocks by order.
grep -E "^Node ($P|$C2)," /proc/buddyinfo
v2_cpuset
mkdir -p "$cgroup"
mems_answer "$C2,$P" "$cgroup/cpuset.mems" "$cgroup/cpuset.mems.effective" || exit 0
echo "### map"
in_cgroup "$cgroup" hugetlb-map "$HUGE_PAGES" > /tmp/numacage-surplus.out
await_bounded "$!" "$cgroup" 30
cat /tmp/numacage-surplus.out
echo "### after"
node_counts
