# shellcheck shell=bash
# The areas reserved at boot for the reservation words of the command line (cma=, cma_pernuma=,
# numa_cma=, hugetlb_cma=, crashkernel=): each CMA area by its debugfs name with its first frame
# and size in pages, the crash kernel's ranges as /proc/iomem shows them to root, the CMA pages
# each zone counts, and the kernel's own lines (which words it did not know, what it reserved,
# refused or gave back).
echo '### cma'
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2> /dev/null
if [ -d /sys/kernel/debug/cma ]; then
  for area in /sys/kernel/debug/cma/*/; do
    [ -e "$area/base_pfn" ] || continue
    area=${area%/}
    echo "${area##*/} $(< "$area/base_pfn") $(< "$area/count")"
  done
else
  echo 'no-debugfs'
fi
echo '### crash'
grep -E ': Crash kernel$' /proc/iomem || true
echo '### zone-cma'
awk '/^Node/ { node = $2; sub(",", "", node); zone = $4 } /^ +cma / { print node, zone, $2 }' /proc/zoneinfo
echo '### kernel'
dmesg | grep -E 'cma: |hugetlb_cma: |crashkernel|Unknown kernel command line|HugeTLB: hugetlb_cma' | grep -v 'ommand line: ' || true
