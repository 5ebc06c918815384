import { parseCpuList } from '../topology/parse.js';

/** `/sys/devices/system/node/nodeN/meminfo` → field → kB ("Node 0 MemTotal: 123 kB"). Pure. */
export function parseNodeMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^Node \d+ (\S+):\s+(\d+)(?: kB)?$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

export interface SysfsNode {
  id: number;
  cpus: number[];
  meminfo: Record<string, number>;
}

/** Parses the sysfs-nodes section of guest/scripts/topology.sh: "== N", "cpulist L", then node N's meminfo. Pure. */
export function parseSysfsNodes(text: string): SysfsNode[] {
  const nodes: SysfsNode[] = [];
  for (const block of text.split(/^== /m).slice(1)) {
    const [head, ...rest] = block.split('\n');
    const cpuLine = rest.find((l) => l.startsWith('cpulist'));
    const cpus = parseCpuList(cpuLine?.slice('cpulist'.length).trim() ?? '') ?? [];
    nodes.push({ id: Number(head!.trim()), cpus, meminfo: parseNodeMeminfo(rest.join('\n')) });
  }
  return nodes.sort((a, b) => a.id - b.id);
}

export interface PciDevice {
  address: string;
  /** e.g. 0x020000 for an Ethernet controller. */
  classCode: number;
  vendor: number;
  device: number;
  /** -1 when the firmware gave no node. */
  numaNode: number;
}

/** Parses the pci section of guest/scripts/topology.sh: "address class vendor device numa_node" lines. Pure. */
export function parsePciDevices(text: string): PciDevice[] {
  const out: PciDevice[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (-?\d+)$/i.exec(line.trim());
    if (m)
      out.push({
        address: m[1]!,
        classCode: parseInt(m[2]!, 16),
        vendor: parseInt(m[3]!, 16),
        device: parseInt(m[4]!, 16),
        numaNode: Number(m[5]),
      });
  }
  return out;
}
