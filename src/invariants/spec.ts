import type { ExecResult } from '../guest/ssh.js';
import type { Topology } from '../model/topology.js';
import type { Expectation, PlacementChart } from '../model/verdict.js';
import type { KernelState } from './kernel-state.js';
import { ProbeError } from './errors.js';
import type { GuestStep } from './guest-step.js';
import { runsProbe, type ScriptReader } from './guest-scripts.js';
import type { KernelProfile, NodeRoles } from './profile.js';

/** What every step and decision may know: the node roles, the plan's topology, the kernel's detected profile and state. */
export interface ProbeContext {
  roles: NodeRoles;
  topology: Topology;
  /** The profile the run is judged by: the one asked for (declared or inferred), not the one detected. */
  profile: KernelProfile;
  /** The profile the kernel shows (sysfs, zones): evidence, held against `profile` by the checks that judge it. */
  detected?: KernelProfile;
  state: KernelState;
}

/** What a host-side step can do: talk to the guest, to QEMU, and push bytes through the guest's NIC. */
export interface HostAccess {
  exec(command: string, opts?: { timeoutMs?: number; input?: Buffer }): Promise<ExecResult>;
  qmp(execute: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Sends `bytes` from the guest to the host and `bytes` back over a plain TCP stream; returns what each side received. */
  tcpTraffic(bytes: number): Promise<{ hostReceived: number; guestReceived: number; seconds: number }>;
}

/** A step that runs on the host (QMP queries, traffic); it returns the text kept as its raw output. */
export interface HostStep {
  name: string;
  run(host: HostAccess, ctx: ProbeContext): Promise<string>;
}

export type { GuestStep };
export type Step = GuestStep | HostStep;

export const isHostStep = (s: Step): s is HostStep => 'run' in s;

/** Whether an invariant's steps run the static probe here (a broken probe must turn it into an error). */
export const usesProbe = (spec: InvariantSpec, ctx: ProbeContext, read: ScriptReader): boolean =>
  spec.expect[ctx.profile] !== 'n/a' && spec.steps(ctx).some((s) => !isHostStep(s) && runsProbe(s, read));

export interface Decision {
  passed: boolean;
  summary: string;
  /** What was wrong, one line each; empty when passed. */
  problems: string[];
  evidence: Record<string, unknown>;
  /** Where the check's pages were, for the report's charts. */
  placements?: PlacementChart[];
}

/**
 * One invariant, self-contained: what it expects of each kind of kernel, the
 * steps that probe it, how their raw output is read, and how it is decided.
 * parse throws ProbeError when the output cannot answer the question (never
 * a pass) and KernelLacks when the kernel has no such feature (a skip).
 */
export interface InvariantSpec<O = unknown> {
  id: string;
  title: string;
  expect: Record<KernelProfile, Expectation>;
  /** Presses memory or changes pools: runs after the read-mostly invariants. */
  disturbs: boolean;
  /** Its guest steps' page placements are held against the host's count of their pages in P's memfd (witness.ts). */
  witnessed?: boolean;
  /** Judges the kernel's profile itself: a detected profile other than the one asked for fails it, whatever its column says. */
  judgesProfile?: boolean;
  /** Why the booted topology cannot test it, if it cannot. */
  unsupported?(topology: Topology, roles: NodeRoles): string | undefined;
  steps(ctx: ProbeContext): Step[];
  parse(raw: Record<string, string>, ctx: ProbeContext): O;
  decide(obs: O, ctx: ProbeContext): Decision;
}

export const expect = (
  vanilla: Expectation,
  vanillaMovable: Expectation,
  priv: Expectation,
  privUser: Expectation,
): Record<KernelProfile, Expectation> => ({
  vanilla,
  'vanilla-movable': vanillaMovable,
  private: priv,
  'private-user': privUser,
});

/** The raw output of a step, or a ProbeError naming it. */
export function rawOf(raw: Record<string, string>, name: string): string {
  const text = raw[name];
  if (text === undefined) throw new ProbeError(`no output from step ${name}`);
  return text;
}
