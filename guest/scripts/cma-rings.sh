# shellcheck shell=bash
# P's own CMA area (hugetlb_cma=P:1G) claimed whole through its debugfs `alloc` file: cma_alloc() of
# every page of the area, as growing P's 1 GiB HugeTLB pool does. Nothing is bound to P, so only
# memory the kernel keeps there can be in the way. What was claimed is given back.
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
unless_missing /sys/kernel/debug/cma
area=/sys/kernel/debug/cma/hugetlb$P
[ -d "$area" ] || setup_failed "no CMA area hugetlb$P (the areas: $(cd /sys/kernel/debug/cma && echo *))"
put_back() {
  local used
  used=$(< "$area/used")
  [ "$used" = 0 ] || echo "$used" > "$area/free"
}

echo "### area"
for f in base_pfn count used; do echo "$f $(< "$area/$f")"; done
[ "$(< "$area/used")" = 0 ] || exit 0
trap put_back EXIT
echo "### claim"
cma_claim "$area" "$(< "$area/count")"
