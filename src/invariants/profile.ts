import type { Topology } from '../model/topology.js';
import type { Zone } from '../parsers/isolation-parsers.js';

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

/** Node-state files that list the nodes ordinary allocations may use; a node with memory missing from them is private. */
const PUBLIC_SPELLINGS = ['has_common_memory', 'has_public_memory', 'has_fallback_memory'];
/** Node-state files that list the private nodes (RFC v4, and the earliest spelling). */
const PRIVATE_SPELLINGS = ['has_private_memory', 'has_memory_private'];

/** Why node p counts as private by the node-state files, in whichever spelling the kernel uses; undefined when it does not. Pure. */
export function privateBySysfs(states: Record<string, number[]>, p: number): string | undefined {
  for (const f of PRIVATE_SPELLINGS) if (states[f]?.includes(p)) return `node ${p} is in ${f}`;
  for (const f of PUBLIC_SPELLINGS)
    if (states[f] && (states.has_memory ?? []).includes(p) && !states[f]!.includes(p))
      return `${f} exists and node ${p}, which has memory, is not in it`;
  return undefined;
}

/** The node-state files of any private-node spelling that this kernel has. */
export function privateNodeFiles(states: Record<string, number[]>): string[] {
  return Object.keys(states).filter((f) => [...PRIVATE_SPELLINGS, ...PUBLIC_SPELLINGS, 'has_user_memory'].includes(f));
}

/** Every `private_node=<nid>[,<nid>...][,user]` on the command line. Pure. */
export function privateNodeParams(cmdline: string): { nodes: number[]; user: boolean; word: string }[] {
  const out: { nodes: number[]; user: boolean; word: string }[] = [];
  for (const word of cmdline.split(/\s+/)) {
    const m = /^private_node=(.*)$/.exec(word);
    if (!m) continue;
    const parts = m[1]!.split(',');
    out.push({ nodes: parts.filter((x) => /^\d+$/.test(x)).map(Number), user: parts.includes('user'), word });
  }
  return out;
}

export interface ProfileEvidence {
  profile: KernelProfile;
  reason: string;
}

const KERNEL_ZONES = new Set(['DMA', 'DMA32', 'Normal']);

/**
 * Which kind of kernel booted, from what it advertises: the private-node
 * sysfs files in every spelling of the RFC series, has_user_memory or
 * private_node=P,user, and whether P has a kernel zone. Pure.
 */
export function detectProfile(input: {
  nodeStates: Record<string, number[]>;
  zones: Zone[];
  cmdline: string;
  p: number;
}): ProfileEvidence {
  const { nodeStates: s, p } = input;
  const privateBy = privateBySysfs(s, p);
  if (privateBy) {
    const userByCmdline = privateNodeParams(input.cmdline).some((w) => w.user && w.nodes.includes(p));
    if (s.has_user_memory?.includes(p) || userByCmdline)
      return {
        profile: 'private-user',
        reason: `${privateBy}, and ${userByCmdline ? `the command line has private_node=${p},user` : `node ${p} is in has_user_memory`}`,
      };
    return { profile: 'private', reason: privateBy };
  }
  const kernelZone = input.zones.some((z) => z.node === p && KERNEL_ZONES.has(z.zone) && z.present > 0);
  const movable = input.zones.some((z) => z.node === p && z.zone === 'Movable' && z.present > 0);
  if (!kernelZone && movable && !s.has_normal_memory?.includes(p))
    return {
      profile: 'vanilla-movable',
      reason: `no private-node sysfs files; node ${p} has only ZONE_MOVABLE memory`,
    };
  return { profile: 'vanilla', reason: `no private-node sysfs files; node ${p} is in has_normal_memory` };
}
