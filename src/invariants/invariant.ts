import { judge, type CheckResult } from '../model/verdict.js';
import type { MemoryTiers, ProbeRecord, Zone } from '../probes/isolation-parsers.js';
import { expectationFor } from './expectations.js';
import type { KernelProfile, NodeRoles } from './profile.js';
import type { Topology } from '../model/topology.js';

/** Everything the isolation probes saw in the guest; a missing field means that probe did not run or broke. */
export interface IsolationObservations {
  nodeStates: Record<string, number[]>;
  zones: Zone[];
  cmdline: string;
  /** Node P's meminfo right after boot, and after a slab-heavy workload. */
  pMeminfoAfterBoot?: Record<string, number>;
  pMeminfoAfterWorkload?: Record<string, number>;
  softPolicy?: ProbeRecord[];
  bind?: ProbeRecord[];
  movePages?: ProbeRecord;
  migratePages?: ProbeRecord;
  fill?: { records: ProbeRecord[]; exitCode: number | null; askedMiB: number; pNumaMissDelta: number };
  hugetlb?: { asked: number; got: number };
  /** bind and move-pages run inside a cgroup whose cpuset.mems is C. */
  cpuset?: { bind?: ProbeRecord; movePages?: ProbeRecord };
  bindStrict?: { records: ProbeRecord[]; exitCode: number | null; askedMiB: number };
  thp?: ProbeRecord;
  compaction?: { kcompactd: boolean; kswapd: boolean; compactAccepted: boolean };
  ksm?: ProbeRecord;
  numaBalancing?: ProbeRecord;
  /** P's meminfo after traffic through the NIC placed on P; absent when no device is on P. */
  pMeminfoAfterTraffic?: Record<string, number>;
  tiers?: MemoryTiers;
  /** Probe failures by invariant id, reported as `error`. */
  errors: Record<string, string>;
}

export interface Context {
  roles: NodeRoles;
  profile: KernelProfile;
}

export interface Decision {
  passed: boolean;
  summary: string;
  problems: string[];
  evidence: Record<string, unknown>;
}

export interface Invariant {
  id: string;
  title: string;
  /** Why the booted topology cannot test this invariant, if it cannot. */
  unsupported?(t: Topology, roles: NodeRoles): string | undefined;
  /** Returns undefined when the observations it needs are missing. */
  evaluate(obs: IsolationObservations, ctx: Context): Decision | undefined;
}

/** An invariant's outcome against what the booted kernel's profile predicts. Pure. */
export function checkInvariant(inv: Invariant, obs: IsolationObservations, ctx: Context, topology?: Topology): CheckResult {
  const expected = expectationFor(inv.id, ctx.profile);
  const base = { id: inv.id, title: inv.title, expected };
  const unsupported = topology && inv.unsupported?.(topology, ctx.roles);
  if (unsupported) return { ...base, outcome: 'skip', summary: unsupported, problems: [], evidence: {} };
  if (expected === 'n/a') return { ...base, outcome: 'skip', summary: `not defined for a ${ctx.profile} kernel`, problems: [], evidence: {} };
  const error = obs.errors[inv.id];
  const d = error ? undefined : inv.evaluate(obs, ctx);
  if (!d) return { ...base, outcome: 'error', summary: `probe failed: ${error ?? 'no observations'}`, problems: [], evidence: {} };
  return { ...base, outcome: judge(d.passed, expected), summary: d.summary, problems: d.passed ? [] : d.problems, evidence: d.evidence };
}
