# shellcheck shell=bash
# Pages on P touched from CPU_OF_C, a CPU of C, with NUMA balancing on and its scanner sped up by
# SCAN_TUNABLES ("name=value ..." of its debugfs tunables; the ones the kernel has are listed, saved
# and set), for NUMA_BALANCING_LIMIT_S seconds at most; then everything is put back.
unless_missing /proc/sys/kernel/numa_balancing
sysctl=/proc/sys/kernel/numa_balancing; old=$(< "$sysctl"); echo 1 > "$sysctl"
d=/sys/kernel/debug/sched/numa_balancing
echo "### tunables"; saved=""
# SCAN_TUNABLES and $saved are lists of name=value words: split on purpose.
for kv in $SCAN_TUNABLES; do t=${kv%%=*}; [ -w "$d/$t" ] && { saved="$saved $t=$(< "$d/$t")"; echo "$t"; }; done
for kv in $SCAN_TUNABLES; do t=${kv%%=*}; [ -w "$d/$t" ] && echo "${kv#*=}" > "$d/$t"; done
echo "### hammer"; probe_as_root numa-balancing "$C" "$P" "$CPU_OF_C" "$NUMA_BALANCING_LIMIT_S"
for kv in $saved; do echo "${kv#*=}" > "$d/${kv%%=*}"; done; echo "$old" > "$sysctl"
