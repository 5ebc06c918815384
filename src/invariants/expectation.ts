import type { Topology } from '../model/topology.js';
import { privateNodeParams, type KernelProfile } from './profile.js';

export const PROFILES = [
  'vanilla',
  'vanilla-movable',
  'private',
  'private-user',
] as const satisfies readonly KernelProfile[];

/** The column a run is judged by: what the user asked for, and how numacage knows. */
export interface ExpectedProfile {
  profile: KernelProfile;
  /** "declared (--expect)", or what it was inferred from. */
  why: string;
}

/**
 * What a run asks of the kernel when the user did not say: private_node=P
 * on the command line asks for private (private-user with ",user" in any
 * private_node= word for P, as a topology's word and --append's add up), a
 * topology whose P is hot-plugged asks for vanilla-movable, anything else
 * for vanilla. Never what the kernel says about itself. Pure.
 */
export function inferExpectedProfile(cmdline: string, topology: Topology, p: number): ExpectedProfile {
  // Each private_node= word adds to what the earlier ones asked (the series never takes ",user" back).
  const asked = privateNodeParams(cmdline).filter((w) => w.nodes.includes(p));
  if (asked.length > 0)
    return {
      profile: asked.some((w) => w.user) ? 'private-user' : 'private',
      why: `inferred: the command line has ${asked.map((w) => w.word).join(' and ')}`,
    };
  const node = topology.nodes.find((n) => n.id === p);
  if (node?.hotplug)
    return {
      profile: 'vanilla-movable',
      why: `inferred: node ${p} is hot-plugged (${node.hotplug}) in topology ${topology.name}`,
    };
  return {
    profile: 'vanilla',
    why: `inferred: no private_node=${p} on the command line and node ${p} is not hot-plugged`,
  };
}

const SHOWS: Record<KernelProfile, string> = {
  vanilla: 'ordinary memory',
  'vanilla-movable': 'ordinary movable memory (ZONE_MOVABLE), not private',
  private: 'private, without the user opt-in',
  'private-user': 'private, with the user opt-in',
};

/**
 * The sentence for a kernel that is not what the run asked for, or
 * undefined when it is: "asked for private, the kernel shows node 1 as
 * ordinary memory: the series did not take effect". Pure.
 */
export function profileMismatch(expected: KernelProfile, detected: KernelProfile, p: number): string | undefined {
  if (expected === detected) return undefined;
  const why =
    expected.startsWith('private') && !detected.startsWith('private')
      ? 'the series did not take effect'
      : 'not the kernel asked for';
  return `asked for ${expected}, the kernel shows node ${p} as ${SHOWS[detected]}: ${why}`;
}
