# shellcheck shell=bash
# P's own 2 MiB pool gets HUGE_PAGES free pages and every other node's pool none, with
# nr_overcommit_hugepages HUGE_PAGES; an unprivileged task with no policy maps HUGE_PAGES pages
# with MAP_HUGETLB and touches them (the probe prints every node's surplus pages after the mmap and
# after the faults). Then a second reservation beside a first: the overcommit raised to twice
# HUGE_PAGES, one task maps HUGE_PAGES and holds them untouched (stopped) while another maps
# HUGE_PAGES and touches them. The holder, the pools and the overcommit are put back on exit.
unless_missing /sys/kernel/mm/hugepages/hugepages-2048kB
hstate=/sys/kernel/mm/hugepages/hugepages-2048kB
overcommit=$hstate/nr_overcommit_hugepages
saved="$overcommit=$(< "$overcommit")"
for f in /sys/devices/system/node/node*/hugepages/hugepages-2048kB/nr_hugepages; do saved="$saved $f=$(< "$f")"; done
# $saved is a list of file=value words: split on purpose. Pools shrink before any grows again.
holder=
put_back() {
  [ -z "$holder" ] || { kill -KILL "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; }
  for kv in $saved; do [ "$(< "${kv%%=*}")" = "${kv#*=}" ] || echo "${kv#*=}" > "${kv%%=*}"; done
}
trap put_back EXIT
for kv in $saved; do [ "${kv#*=}" = 0 ] || setup_write 0 "${kv%%=*}"; done
setup_write "$HUGE_PAGES" "$overcommit"
pool=$(node_file "$P" hugepages/hugepages-2048kB)
echo "### pool"
write_answer "$HUGE_PAGES" "$pool/nr_hugepages" "write ok" "write refused:"
echo "onp $(< "$pool/nr_hugepages")"
echo "total $(< "$hstate/nr_hugepages")"
echo "overcommit $(< "$overcommit")"
# Whether C could give the surplus pages: its free blocks by order.
grep -E "^Node $C," /proc/buddyinfo
echo "### unbound"
probe_as_user hugetlb-map "$HUGE_PAGES"
echo "### after"
echo "node$P $(< "$pool/nr_hugepages") $(< "$pool/free_hugepages") $(< "$pool/surplus_hugepages")"
echo "### second"
setup_write "$((HUGE_PAGES * 2))" "$overcommit"
(exec_probe_as_user hugetlb-hold "$HUGE_PAGES") > /tmp/numacage-hold.out &
holder=$!
await_stopped "$holder"
cat /tmp/numacage-hold.out
probe_as_user hugetlb-map "$HUGE_PAGES"
