# shellcheck shell=bash
# What the booted kernel advertises, read once before any invariant (parseKernelState).
echo "### release"; uname -r
echo "### cmdline"; cat /proc/cmdline
echo "### node-states"
cd /sys/devices/system/node && for f in has_* possible online; do echo "$f $(< "$f")"; done
echo "### zoneinfo"; cat /proc/zoneinfo
echo "### private-node-log"; dmesg | grep -i "private.node" || true
