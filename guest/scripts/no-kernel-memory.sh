# shellcheck shell=bash
# P's meminfo after boot and after a slab-heavy workload of SLAB_FILES files (the probe prints the
# counters during it), run from C with its memory policy aimed at P.
meminfo=$(node_file "$P" meminfo)
echo "### after-boot"; cat "$meminfo"
d=$(mktemp -d /dev/shm/numacage-slab.XXXXXX)
echo "### workload"; probe_as_root slab "$C" "$P" "$SLAB_FILES" "$d"
echo "### after-workload"; cat "$meminfo"
rm -rf "$d"
