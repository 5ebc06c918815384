# shellcheck shell=bash
# The pool the command line asked for (hugepages=N after hugepagesz=, of SIZE_KB pages), read before
# any check grows or shrinks it: how many huge pages it holds, how many of them are on P, and the
# kernel's own HugeTLB lines.
pool=hugepages/hugepages-${SIZE_KB}kB
unless_missing "/sys/kernel/mm/$pool"
echo "### pool"
echo "total $(< "/sys/kernel/mm/$pool/nr_hugepages")"
echo "onp $(cat "$(node_file "$P" "$pool/nr_hugepages")")"
echo "### kernel"; dmesg | grep -E 'HugeTLB' || true
