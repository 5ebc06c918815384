import type { Topology } from '../../model/topology.js';
import { deviceKind } from '../../topology/device-kinds.js';
import { parseNumactlHardware, type NumactlHardware } from '../../parsers/numactl.js';
import { parsePciDevices, parseSysfsNodes, type PciDevice, type SysfsNode } from '../../parsers/sysfs.js';
import { parseSections, section } from '../records.js';
import { expect, rawOf, type Decision, type InvariantSpec } from '../spec.js';
import { ProbeError } from '../errors.js';
import { crashKernelMiB } from './boot-reserve.js';

export interface TopologyObservation {
  numactl: NumactlHardware;
  sysfsNodes: SysfsNode[];
  pci: PciDevice[];
}

/**
 * MemTotal sits below the backend size: struct pages take 1.6% of every node,
 * and the boot node also holds SWIOTLB (64 MiB) and firmware reservations.
 * The kernel image (about 40 MiB) is on the boot node with nokaslr, which
 * numacage passes, but could sit on any node without it. Seen on the stock
 * 6.12 kernel: 2048 MiB node 0 = 1913 MiB; 1024 MiB node 1 = 1006 MiB, or
 * 969 MiB when KASLR put the kernel there. A crash kernel asked for
 * (crashkernel=) is taken out of whichever node the kernel puts it on.
 */
const MEMTOTAL_TOLERANCE = { fraction: 0.03, bootNodeMiB: 160, otherNodeMiB: 48 };

function memTotalSlackMiB(memMiB: number, isBootNode: boolean): number {
  return (
    memMiB * MEMTOTAL_TOLERANCE.fraction +
    (isBootNode ? MEMTOTAL_TOLERANCE.bootNodeMiB : MEMTOTAL_TOLERANCE.otherNodeMiB)
  );
}

const VIRTIO_VENDOR = 0x1af4;

function sameCpus(a: number[], b: number[]): boolean {
  return a.length === b.length && [...a].sort((x, y) => x - y).every((v, i) => v === [...b].sort((x, y) => x - y)[i]);
}

/** Whether the guest sees the topology that was asked for. Pure. */
export function decideTopology(t: Topology, obs: TopologyObservation): Decision {
  const problems: string[] = [];
  const nodes: Record<string, unknown>[] = [];
  if (obs.sysfsNodes.length !== t.nodes.length)
    problems.push(`guest has ${obs.sysfsNodes.length} NUMA nodes, topology asks for ${t.nodes.length}`);
  if (obs.numactl.nodes.length !== t.nodes.length)
    problems.push(`numactl --hardware lists ${obs.numactl.nodes.length} nodes, topology asks for ${t.nodes.length}`);

  for (const want of t.nodes) {
    const seen = obs.sysfsNodes.find((n) => n.id === want.id);
    if (!seen) {
      problems.push(`node ${want.id} is missing in the guest`);
      continue;
    }
    const memTotalMiB = Math.round(((seen.meminfo.MemTotal ?? 0) / 1024) * 10) / 10;
    const slack = memTotalSlackMiB(want.memMiB, want.cpus.includes(0)) + crashKernelMiB(t.cmdline);
    nodes.push({ node: want.id, cpus: seen.cpus, wantCpus: want.cpus, memTotalMiB, backendMiB: want.memMiB });
    if (!sameCpus(seen.cpus, want.cpus))
      problems.push(`node ${want.id} has CPUs [${seen.cpus.join(',')}], topology asks for [${want.cpus.join(',')}]`);
    if (memTotalMiB > want.memMiB || memTotalMiB < want.memMiB - slack)
      problems.push(
        `node ${want.id} MemTotal is ${memTotalMiB} MiB, expected ${Math.round(want.memMiB - slack)}-${want.memMiB} MiB for a ${want.memMiB} MiB backend`,
      );
  }

  const ids = obs.numactl.distanceNodeIds;
  for (const d of t.distances) {
    const i = ids.indexOf(d.src);
    const j = ids.indexOf(d.dst);
    const seen = i >= 0 && j >= 0 ? obs.numactl.distances[i]?.[j] : undefined;
    if (seen !== d.value)
      problems.push(`distance ${d.src}->${d.dst} is ${seen ?? 'missing'}, topology asks for ${d.value}`);
  }

  const devices = t.devices.map((dev) => {
    const cls = deviceKind(dev.kind).pciClass;
    const candidates = obs.pci.filter((p) => p.vendor === VIRTIO_VENDOR && p.classCode >> 8 === cls);
    const onNode = candidates.find((p) => p.numaNode === dev.node);
    if (!onNode)
      problems.push(
        `no ${dev.kind} PCI device on node ${dev.node} (seen: ${candidates.map((p) => `${p.address} node ${p.numaNode}`).join(', ') || 'none'})`,
      );
    return { kind: dev.kind, node: dev.node, pci: onNode?.address ?? null };
  });

  const passed = problems.length === 0;
  return {
    passed,
    summary: passed
      ? `${t.nodes.length} nodes, ${nodes.map((n) => `node ${n.node}: ${(n.memTotalMiB as number).toFixed(0)} MiB cpus [${(n.cpus as number[]).join(',')}]`).join('; ')}`
      : `${problems.length} mismatch(es)`,
    problems,
    evidence: { nodes, distances: obs.numactl.distances, devices, tolerance: MEMTOTAL_TOLERANCE },
  };
}

export const topology: InvariantSpec<TopologyObservation> = {
  id: 'topology',
  title: 'the guest sees the topology that was asked for',
  expect: expect('pass', 'pass', 'pass', 'pass'),
  disturbs: false,
  steps: () => [{ name: 'topology', script: 'topology.sh' }],
  parse(raw) {
    const s = parseSections(rawOf(raw, 'topology'));
    const obs = {
      numactl: parseNumactlHardware(section(s, 'numactl', 'topology')),
      sysfsNodes: parseSysfsNodes(section(s, 'sysfs-nodes', 'topology')),
      pci: parsePciDevices(section(s, 'pci', 'topology')),
    };
    if (!obs.sysfsNodes.length || !obs.numactl.nodes.length)
      throw new ProbeError('numactl --hardware or sysfs listed no node at all');
    return obs;
  },
  decide: (obs, ctx) => decideTopology(ctx.topology, obs),
};
