import { parseCpuList } from '../topology/parse.js';
/** `/sys/devices/system/node/nodeN/meminfo` → field → kB ("Node 0 MemTotal: 123 kB"). Pure. */
export function parseNodeMeminfo(text) {
    const out = {};
    for (const line of text.split('\n')) {
        const m = /^Node \d+ (\S+):\s+(\d+)(?: kB)?$/.exec(line.trim());
        if (m)
            out[m[1]] = Number(m[2]);
    }
    return out;
}
/** The shell command whose output parseSysfsNodes reads. */
export const SYSFS_NODES_COMMAND = 'for n in /sys/devices/system/node/node[0-9]*; do echo "== ${n##*node}"; echo "cpulist $(cat $n/cpulist)"; cat $n/meminfo; done';
/** Parses the output of SYSFS_NODES_COMMAND. Pure. */
export function parseSysfsNodes(text) {
    const nodes = [];
    for (const block of text.split(/^== /m).slice(1)) {
        const [head, ...rest] = block.split('\n');
        const cpuLine = rest.find((l) => l.startsWith('cpulist'));
        const cpus = parseCpuList(cpuLine?.slice('cpulist'.length).trim() ?? '') ?? [];
        nodes.push({ id: Number(head.trim()), cpus, meminfo: parseNodeMeminfo(rest.join('\n')) });
    }
    return nodes.sort((a, b) => a.id - b.id);
}
export const PCI_DEVICES_COMMAND = 'for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(cat $d/class) $(cat $d/vendor) $(cat $d/device) $(cat $d/numa_node)"; done';
/** Parses the output of PCI_DEVICES_COMMAND. Pure. */
export function parsePciDevices(text) {
    const out = [];
    for (const line of text.split('\n')) {
        const m = /^(\S+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (-?\d+)$/i.exec(line.trim());
        if (m)
            out.push({ address: m[1], classCode: parseInt(m[2], 16), vendor: parseInt(m[3], 16), device: parseInt(m[4], 16), numaNode: Number(m[5]) });
    }
    return out;
}
//# sourceMappingURL=sysfs.js.map