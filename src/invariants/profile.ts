import type { Topology } from '../model/topology.js';
import type { Zone } from '../probes/isolation-parsers.js';

export type KernelProfile = 'vanilla' | 'vanilla-movable' | 'private' | 'private-user';

/** C: the node with the CPUs; P: the node under test (CPU-less, preferably memfd share=on). */
export interface NodeRoles {
  c: number;
  p: number;
  /** A CPU of node C, where a task is pinned to access P's memory from afar. */
  cpuOfC: number;
  /** An ordinary CPU-less control node, when the topology has one. */
  c2?: number;
}

export function nodeRoles(t: Topology): NodeRoles | undefined {
  const c = t.nodes.find((n) => n.cpus.length > 0);
  const cpuless = t.nodes.filter((n) => n.cpus.length === 0);
  const p = cpuless.find((n) => n.backend.kind === 'memfd' && n.backend.share) ?? cpuless[0];
  if (!c || !p) return undefined;
  const c2 = cpuless.find((n) => n.id !== p.id);
  return { c: c.id, p: p.id, cpuOfC: c.cpus[0]!, ...(c2 ? { c2: c2.id } : {}) };
}

export interface ProfileEvidence {
  profile: KernelProfile;
  reason: string;
}

const KERNEL_ZONES = new Set(['DMA', 'DMA32', 'Normal']);

/**
 * Which kind of kernel booted, from what it advertises: the private-node
 * sysfs files in all three spellings of the RFC series, has_user_memory or
 * private_node=P,user, and whether P has a kernel zone. Pure.
 */
export function detectProfile(input: { nodeStates: Record<string, number[]>; zones: Zone[]; cmdline: string; p: number }): ProfileEvidence {
  const { nodeStates: s, p } = input;
  let privateBy: string | undefined;
  if (s.has_private_memory?.includes(p)) privateBy = `node ${p} is in has_private_memory`;
  else if (s.has_common_memory && !s.has_common_memory.includes(p)) privateBy = `has_common_memory exists and node ${p} is not in it`;
  else if (s.has_memory_private?.includes(p)) privateBy = `node ${p} is in has_memory_private`;
  if (privateBy) {
    const userByCmdline = new RegExp(`(^|\\s)private_node=([\\d,]*\\b${p}\\b[\\d,]*),user(\\s|$)`).test(input.cmdline);
    if (s.has_user_memory?.includes(p) || userByCmdline)
      return { profile: 'private-user', reason: `${privateBy}, and ${userByCmdline ? `the command line has private_node=${p},user` : `node ${p} is in has_user_memory`}` };
    return { profile: 'private', reason: privateBy };
  }
  const kernelZone = input.zones.some((z) => z.node === p && KERNEL_ZONES.has(z.zone) && z.present > 0);
  const movable = input.zones.some((z) => z.node === p && z.zone === 'Movable' && z.present > 0);
  if (!kernelZone && movable && !s.has_normal_memory?.includes(p))
    return { profile: 'vanilla-movable', reason: `no private-node sysfs files; node ${p} has only ZONE_MOVABLE memory` };
  return { profile: 'vanilla', reason: `no private-node sysfs files; node ${p} is in has_normal_memory` };
}
