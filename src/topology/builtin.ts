import type { Topology } from '../model/topology.js';
import { parseTopology } from './parse.js';

/** Built-in topologies, in the topology file format (docs/topology.md). */
const BUILTIN_TOPOLOGIES: Record<string, unknown> = {
  'private-virtio': {
    name: 'private-virtio',
    description:
      'C = node 0 (2 CPUs, 2 GiB memfd share=off, MAP_PRIVATE); P = node 1 (CPU-less, 1 GiB memfd share=on, MAP_SHARED) with virtio-net behind pxb-pcie',
    memory: '3G',
    cpus: 2,
    nodes: [
      { id: 0, mem: '2G', cpus: '0-1', backend: 'memfd', share: false },
      { id: 1, mem: '1G', cpus: '', backend: 'memfd', share: true },
    ],
    distances: [
      [10, 20],
      [20, 10],
    ],
    devices: [{ kind: 'virtio-net', node: 1 }],
  },
  'private-movable': {
    name: 'private-movable',
    description:
      'as private-virtio, but P (node 1) is a cold-plugged pc-dimm onlined movable (ZONE_MOVABLE): the vanilla-movable profile',
    memory: '3G',
    cpus: 2,
    nodes: [
      { id: 0, mem: '2G', cpus: '0-1', backend: 'memfd', share: false },
      { id: 1, mem: '1G', cpus: '', backend: 'memfd', share: true, hotplug: 'pc-dimm' },
    ],
    distances: [
      [10, 20],
      [20, 10],
    ],
    devices: [{ kind: 'virtio-net', node: 1 }],
    cmdline: ['memhp_default_state=online_movable'],
  },
  'hmat-tiered': {
    name: 'hmat-tiered',
    description:
      'as private-virtio, with HMAT making P slower (200 ns, 4 GB/s vs 80 ns, 20 GB/s): vanilla puts P in a lower memory tier, a demotion target',
    memory: '3G',
    cpus: 2,
    nodes: [
      { id: 0, mem: '2G', cpus: '0-1', backend: 'memfd', share: false, hmat: { latencyNs: 80, bandwidthMBs: 20000 } },
      { id: 1, mem: '1G', cpus: '', backend: 'memfd', share: true, hmat: { latencyNs: 200, bandwidthMBs: 4000 } },
    ],
    distances: [
      [10, 20],
      [20, 10],
    ],
    devices: [{ kind: 'virtio-net', node: 1 }],
  },
  'private-vhost': {
    name: 'private-vhost',
    description:
      "the seed's design: C = node 0 (2 GiB memfd share=off, MAP_PRIVATE), P = node 1 (1 GiB memfd share=on, MAP_SHARED) with a vhost-user NIC served outside QEMU by DPDK testpmd, which sees P's memory and C's untouched page cache",
    memory: '3G',
    cpus: 2,
    nodes: [
      { id: 0, mem: '2G', cpus: '0-1', backend: 'memfd', share: false },
      { id: 1, mem: '1G', cpus: '', backend: 'memfd', share: true },
    ],
    distances: [
      [10, 20],
      [20, 10],
    ],
    devices: [{ kind: 'vhost-user-net', node: 1 }],
  },
  'private-vhost-ram': {
    name: 'private-vhost-ram',
    description: 'as private-vhost, but C is memory-backend-ram: it has no fd, so QEMU hands the backend P alone',
    memory: '3G',
    cpus: 2,
    nodes: [
      { id: 0, mem: '2G', cpus: '0-1', backend: 'ram' },
      { id: 1, mem: '1G', cpus: '', backend: 'memfd', share: true },
    ],
    distances: [
      [10, 20],
      [20, 10],
    ],
    devices: [{ kind: 'vhost-user-net', node: 1 }],
  },
  'vhost-shared': {
    name: 'vhost-shared',
    description:
      'the control for private-vhost: every node a MAP_SHARED memfd, so the backend sees all guest memory and its NIC works on any kernel',
    memory: '3G',
    cpus: 2,
    nodes: [
      { id: 0, mem: '2G', cpus: '0-1', backend: 'memfd', share: true },
      { id: 1, mem: '1G', cpus: '', backend: 'memfd', share: true },
    ],
    distances: [
      [10, 20],
      [20, 10],
    ],
    devices: [{ kind: 'vhost-user-net', node: 1 }],
  },
  'three-node': {
    name: 'three-node',
    description:
      'C = node 0 (2 CPUs, 2 GiB share=off); P = node 1 (CPU-less, 1 GiB share=on, virtio-net); C2 = node 2 (CPU-less, 1 GiB share=off control)',
    memory: '4G',
    cpus: 2,
    nodes: [
      { id: 0, mem: '2G', cpus: '0-1', backend: 'memfd', share: false },
      { id: 1, mem: '1G', cpus: '', backend: 'memfd', share: true },
      { id: 2, mem: '1G', cpus: '', backend: 'memfd', share: false },
    ],
    distances: [
      [10, 20, 20],
      [20, 10, 30],
      [20, 30, 10],
    ],
    devices: [{ kind: 'virtio-net', node: 1 }],
  },
};

export const DEFAULT_TOPOLOGY = 'private-virtio';

export function builtinTopologyNames(): string[] {
  return Object.keys(BUILTIN_TOPOLOGIES);
}

export function builtinTopology(name: string): Topology | undefined {
  const raw = BUILTIN_TOPOLOGIES[name];
  return raw === undefined ? undefined : parseTopology(raw, `built-in ${name}`);
}
