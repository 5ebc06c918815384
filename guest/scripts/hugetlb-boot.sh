# shellcheck shell=bash
# The 2 MiB pool the command line asked for (hugepages=N), read before any check grows or shrinks
# it: how many huge pages it holds, how many of them are on P, and the kernel's own HugeTLB lines.
unless_missing /sys/kernel/mm/hugepages/hugepages-2048kB
echo "### pool"
echo "total $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)"
echo "onp $(cat "$(node_file "$P" hugepages/hugepages-2048kB/nr_hugepages)")"
echo "### kernel"; dmesg | grep -E 'HugeTLB' || true
