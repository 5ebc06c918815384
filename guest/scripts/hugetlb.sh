# shellcheck shell=bash
# Two ways to grow a 2 MiB HugeTLB pool on P by HUGEPAGES_ASKED pages: P's own nr_hugepages (a
# refused write is an answer), and the global pool, which the kernel spreads over the nodes.
unless_missing /sys/kernel/mm/hugepages/hugepages-2048kB
f=$(node_file "$P" hugepages/hugepages-2048kB/nr_hugepages)
echo "### node"
if [ -e "$f" ]; then
  write_answer "$HUGEPAGES_ASKED" "$f" "write ok" "write refused:"
  echo "got $(< "$f")"; echo 0 > "$f" 2>/dev/null
else echo "no-file"; fi
echo "### global"; g=/proc/sys/vm/nr_hugepages; total=$(< "$g")
echo $((total + HUGEPAGES_ASKED)) > "$g"; echo "asked $((total + HUGEPAGES_ASKED))"; echo "total $(< "$g")"
echo "onp $(awk '/HugePages_Total/ {print $4}' "$(node_file "$P" meminfo)")"; echo "$total" > "$g"
