# shellcheck shell=bash
# HugeTLB pages on P for an unprivileged task: P's own 2 MiB pool gets HUGE_PAGES pages and every
# other node's pool none (no overcommit); the user maps HUGE_PAGES pages with MAP_HUGETLB, first
# under no policy, then bound to {C,P}. The pools and the overcommit are put back on exit.
unless_missing /sys/kernel/mm/hugepages/hugepages-2048kB
overcommit=/proc/sys/vm/nr_overcommit_hugepages
saved="$overcommit=$(< "$overcommit")"
for f in /sys/devices/system/node/node*/hugepages/hugepages-2048kB/nr_hugepages; do saved="$saved $f=$(< "$f")"; done
# $saved is a list of file=value words: split on purpose. Pools shrink before any grows again.
put_back() { for kv in $saved; do echo "${kv#*=}" > "${kv%%=*}"; done; }
trap put_back EXIT
for kv in $saved; do echo 0 > "${kv%%=*}"; done
f=$(node_file "$P" hugepages/hugepages-2048kB/nr_hugepages)
echo "### pool"
write_answer "$HUGE_PAGES" "$f" "write ok" "write refused:"
echo "onp $(< "$f")"; echo "total $(cat /proc/sys/vm/nr_hugepages)"
echo "### unbound"; probe_as_user hugetlb-map "$HUGE_PAGES"
echo "### bound"; probe_as_user hugetlb-map "$HUGE_PAGES" "$C,$P"
