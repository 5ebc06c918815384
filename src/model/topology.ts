import type { DeviceKind } from '../topology/device-kinds.js';
export type MemoryBackend =
  /** memory-backend-memfd; share=false maps it MAP_PRIVATE, share=true MAP_SHARED. */
  { kind: 'memfd'; share: boolean; hugetlb?: boolean } | { kind: 'ram' };

/**
 * Memory cold-plugged at start as a device instead of boot RAM: the guest
 * hot-adds it through ACPI (pc-dimm) or its virtio-mem driver and onlines it
 * by memhp_default_state (online_movable gives ZONE_MOVABLE).
 */
type HotplugDevice = 'pc-dimm' | 'virtio-mem';

/** HMAT figures seen from the CPU nodes (the initiators). */
interface NodePerformance {
  latencyNs: number;
  bandwidthMBs: number;
}

export interface NumaNode {
  id: number;
  memMiB: number;
  /** Guest CPU indexes; empty for a CPU-less node. */
  cpus: number[];
  /** CPU indexes that start absent (hot-plug slots, -smp maxcpus) and that a check hot-adds on this node. */
  hotplugCpus?: number[];
  backend: MemoryBackend;
  hotplug?: HotplugDevice;
  hmat?: NodePerformance;
}

interface Distance {
  src: number;
  dst: number;
  value: number;
}

/** A device placed on a NUMA node behind its own pxb-pcie host bridge. */
interface PlacedDevice {
  kind: DeviceKind;
  node: number;
}

export interface Topology {
  name: string;
  description: string;
  /** Total guest RAM (-m); must equal the sum of the nodes' memory. */
  memoryMiB: number;
  cpus: number;
  nodes: NumaNode[];
  distances: Distance[];
  devices: PlacedDevice[];
  /** Extra words for the guest kernel command line. */
  cmdline: string[];
}
