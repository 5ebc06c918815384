import type { ExecResult } from '../guest/ssh.js';
import type { Topology } from '../model/topology.js';
import type { Expectation, PlacementChart } from '../model/verdict.js';
import type { KernelState } from './kernel-state.js';
import { ProbeError } from './errors.js';
import type { GuestStep } from './guest-step.js';
import { runsProbe, type ScriptReader } from './guest-scripts.js';
import type { KernelProfile, NodeRoles } from './profile.js';
import type { PortStats } from '../parsers/testpmd.js';
import type { StepWitness } from './witness.js';

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
  /** Of node's memfd, its pages and those present in QEMU (written since boot); or why the host cannot count them. */
  nodePresentPages(node: number): Promise<{ pages: number; present: number } | { unavailable: string }>;
  /** Guest-physical memory as QEMU reads it. */
  readPhysical(addr: number, size: number): Promise<Buffer>;
  /** The counters of the host process serving placed device `id` (dev0...) now; undefined when it does not answer. */
  backendStats(id: string): Promise<PortStats | undefined>;
  /** Starts or stops that process's forwarding (it serves the device's queues only while on); false when it did not answer. */
  backendForward(id: string, on: boolean): Promise<boolean>;
}

/** A step that runs on the host (QMP queries, traffic); it returns the text kept as its raw output. */
export interface HostStep {
  name: string;
  /** It runs the static probe in the guest (host.exec): the probe must be uploaded first. */
  runsProbe?: boolean;
  run(host: HostAccess, ctx: ProbeContext): Promise<string>;
}

export type { GuestStep };
export type Step = GuestStep | HostStep;

export const isHostStep = (s: Step): s is HostStep => 'run' in s;

/** Whether an invariant's steps run the static probe here (a broken probe must turn it into an error). */
export const usesProbe = (spec: InvariantSpec, ctx: ProbeContext, read: ScriptReader): boolean =>
  expectationOf(spec, ctx) !== 'n/a' &&
  !spec.unsupported?.(ctx.topology, ctx.roles) &&
  spec.steps(ctx).some((s) => (isHostStep(s) ? s.runsProbe === true : runsProbe(s, read)));

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
  /** The host also counts the pages whose tag it finds inside P's pages (copies: a compressed pool), for decide. */
  hostCopies?: boolean;
  /** Judges the kernel's profile itself: a detected profile other than the one asked for fails it, whatever its column says. */
  judgesProfile?: boolean;
  /** Why the booted topology cannot test it, if it cannot. */
  unsupported?(topology: Topology, roles: NodeRoles): string | undefined;
  /** Where the topology alone decides, whatever the kernel (a device that shares all guest memory works on any). */
  expectOn?(topology: Topology, roles: NodeRoles): Expectation | undefined;
  steps(ctx: ProbeContext): Step[];
  parse(raw: Record<string, string>, ctx: ProbeContext): O;
  /** witness: the host's readings of the witnessed steps, when it could read (none in a replay without them). */
  decide(obs: O, ctx: ProbeContext, witness?: StepWitness[]): Decision;
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

/** What a check expects here: its topology's word where it has one, else its column for the run's profile. */
export function expectationOf(
  spec: InvariantSpec,
  ctx: Pick<ProbeContext, 'profile'> & Partial<Pick<ProbeContext, 'topology' | 'roles'>>,
): Expectation {
  return (ctx.topology && ctx.roles && spec.expectOn?.(ctx.topology, ctx.roles)) || spec.expect[ctx.profile];
}

/** The raw output of a step, or a ProbeError naming it. */
export function rawOf(raw: Record<string, string>, name: string): string {
  const text = raw[name];
  if (text === undefined) throw new ProbeError(`no output from step ${name}`);
  return text;
}
