#!/usr/bin/env bash
# How reliably the vhost-user NIC works where nothing is in its way: the control topology
# (vhost-shared: every node a MAP_SHARED memfd) on the given kernel, N runs of the device suite,
# one guest at a time. Prints each run's device-io summary and the count that passed.
#   bash bench/device-control.sh [N=10] [KERNEL=stock]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-10}"
kernel="${2:-stock}"
out="$(mktemp -d /tmp/numacage-device-control.XXXXXX)"
passed=0
for i in $(seq "$n"); do
  if node "$repo/dist/src/cli/main.js" run -t vhost-shared --kernel "$kernel" --only device-io --out "$out/$i" >"$out/$i.log" 2>&1; then
    passed=$((passed + 1))
  fi
  grep -h 'device-io' "$out/$i/"*/summary.txt | head -1
done
echo "device-control: $passed of $n runs passed device-io on vhost-shared/$kernel (logs: $out)"
