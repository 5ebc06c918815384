# shellcheck shell=bash
# Whether demotion is enabled, and the memory tiers with their nodes.
unless_missing /sys/devices/virtual/memory_tiering
echo "### tiers"
echo "demotion_enabled $(cat /sys/kernel/mm/numa/demotion_enabled 2>/dev/null)"
for t in /sys/devices/virtual/memory_tiering/memory_tier*; do
  [ -e "$t/nodelist" ] && echo "${t##*/} $(< "$t/nodelist")"
done
true
