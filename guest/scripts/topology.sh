# shellcheck shell=bash
# The topology the guest sees: numactl's, sysfs's nodes, and the PCI devices with their nodes.
# Builtins where it can: each process costs tens of milliseconds under TCG.
echo "### numactl"; numactl --hardware
echo "### sysfs-nodes"
for n in /sys/devices/system/node/node[0-9]*; do
  echo "== ${n##*node}"; read -r c < "$n/cpulist"; echo "cpulist $c"; cat "$n/meminfo"
done
echo "### pci"
for d in /sys/bus/pci/devices/*; do
  read -r c < "$d/class"; read -r v < "$d/vendor"; read -r i < "$d/device"; read -r n < "$d/numa_node"
  echo "${d##*/} $c $v $i $n"
done
