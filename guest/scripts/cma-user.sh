# shellcheck shell=bash
# A tenant of P's own CMA area (hugetlb_cma=P:1G) under private_node=1,user. The area is claimed
# through its debugfs `alloc` file: cma_alloc(), the path HugeTLB's gigantic pool and the DMA API
# take, for CLAIM_PAGES pages at the area's first free frame (its base), not the whole GiB.
# - control: with P free, the claim succeeds and is given back;
# - tenant: the probe, as the user, binds P's free memory but MARGIN_MIB to P, so that the area
#   serves most of it, pins 64 of its pages in the area long-term, unpins them and stops;
# - claim: root claims CLAIM_PAGES at the area's base, where the tenant's pages are, with room for
#   only part of them elsewhere on P, and continues the tenant, which says where its pages are.
# What was claimed is given back however the step ends.
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
unless_missing /sys/kernel/debug/cma
area=/sys/kernel/debug/cma/hugetlb$P
[ -d "$area" ] || setup_failed "no CMA area hugetlb$P (the areas: $(cd /sys/kernel/debug/cma && echo *))"
tenant=""
put_back() {
  [ -z "$tenant" ] || kill -KILL "$tenant" 2> /dev/null
  local used
  used=$(< "$area/used")
  [ "$used" = 0 ] || echo "$used" > "$area/free"
}
trap put_back EXIT

echo "### area"
for f in base_pfn count used; do echo "$f $(< "$area/$f")"; done
echo "### control"
cma_claim "$area" "$CLAIM_PAGES"
put_back
echo "### tenant"
free_mib=$(awk '/MemFree/ {print int($4/1024)}' "$(node_file "$P" meminfo)")
base=$(< "$area/base_pfn")
(exec_probe cma-tenant "$P" $((free_mib - MARGIN_MIB)) "$(id -u probe)" "$(id -g probe)" "$base" \
  "$(< "$area/count")" "$CLAIM_PAGES") > /tmp/numacage-cma.out &
tenant=$!
await_stopped "$tenant" 120
cat /tmp/numacage-cma.out
echo "### claim"
gone "$tenant" || cma_claim "$area" "$CLAIM_PAGES"
echo "### after"
kill -CONT "$tenant"
wait "$tenant"
echo "# exit $?"
tenant=""
sed -n '/"call":"after"/p' /tmp/numacage-cma.out
