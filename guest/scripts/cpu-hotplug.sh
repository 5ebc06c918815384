# shellcheck shell=bash
# The CPU slot CPU of node P, hot-added by the host just before (QMP device_add; only when the guest
# counts it possible): waits 10 s at most for the kernel to make it present, onlines it, says on
# which node it came up, then offlines it.
dir=/sys/devices/system/cpu/cpu$CPU
# A CPU beyond the last possible one can never appear (and was not added): no wait then.
last=$(sed 's/.*[-,]//' /sys/devices/system/cpu/possible)
i=0
while [ "$CPU" -le "$last" ] && [ ! -e "$dir/online" ] && [ "$i" -lt 200 ]; do
  nap 0.05
  i=$((i + 1))
done
echo "### present"
cat /sys/devices/system/cpu/present
echo "### online"
if [ ! -e "$dir/online" ]; then
  echo "absent"
else
  write_answer 1 "$dir/online" onlined refused
fi
echo "### node-cpus"
cat "$(node_file "$P" cpulist)"
echo "### cpu-node"
for link in "$dir"/node*; do [ -e "$link" ] && echo "${link##*node}"; done
echo "### kernel"
dmesg | grep -E "private_node|CPU ?$CPU\b|cpu$CPU\b" | tail -n 20
[ "$(cat "$dir/online" 2>/dev/null)" = 1 ] && echo 0 > "$dir/online"
exit 0
