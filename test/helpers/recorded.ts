import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectPath } from '../../src/adapters/project.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { parseKernelState } from '../../src/invariants/kernel-state.js';
import { detectProfile, nodeRoles } from '../../src/invariants/profile.js';
import { invariant, SUITES } from '../../src/invariants/registry.js';
import type { InvariantSpec, ProbeContext } from '../../src/invariants/spec.js';
import type { CheckResult } from '../../src/model/verdict.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { parseTopology } from '../../src/topology/parse.js';

/** The raw step outputs of one guest (test/fixtures/guest/<dir>/<step>.txt), as a run keeps them in probe/. */
export function rawOutputs(dir: string): Record<string, string> {
  const path = projectPath('test', 'fixtures', 'guest', dir);
  return Object.fromEntries(
    readdirSync(path)
      .filter((f) => f.endsWith('.txt') && !f.endsWith('.stderr.txt'))
      .map((f) => [f.slice(0, -4), readFileSync(join(path, f), 'utf8')]),
  );
}

/** The context a live run would build from the same outputs: the topology named in the fixture's TOPOLOGY file, roles, detected profile. */
export function contextOf(dir: string, raw = rawOutputs(dir)): ProbeContext {
  const file = projectPath('test', 'fixtures', 'guest', dir, 'TOPOLOGY');
  return contextOn(existsSync(file) ? readFileSync(file, 'utf8').trim() : 'private-virtio', raw['kernel-state']!);
}

/** The context a live run on a built-in topology would build from the kernel-state step's output. */
export function contextOn(topologyName: string, kernelState: string): ProbeContext {
  const topology = builtinTopology(topologyName)!;
  const roles = nodeRoles(topology)!;
  const state = parseKernelState(kernelState);
  const { profile } = detectProfile({
    nodeStates: state.nodeStates,
    zones: state.zones,
    cmdline: state.cmdline,
    p: roles.p,
  });
  return { roles, topology, profile, state };
}

/** One check judged on a fixture's outputs, its own step's output edited first when `edit` is given (a constructed case). */
export function judgeRecorded(spec: InvariantSpec, dir: string, edit?: (text: string) => string): CheckResult {
  const raw = rawOutputs(dir);
  if (edit) raw[spec.id] = edit(raw[spec.id]!);
  return evaluateInvariant(spec, raw, contextOf(dir, raw));
}

/** The default suite's checks that the fixture's topology can test (a live run skips the others before any step). */
export const testable = (ctx: ProbeContext) =>
  SUITES.isolation!.filter((id) => !invariant(id).unsupported?.(ctx.topology, ctx.roles));

/**
 * Every result of the default suite from a fixture's outputs, through the same parse and decision as a live run.
 * (The device suite's checks have fixtures of their own: test/fixtures/device-io/.)
 */
export function evaluateAll(raw: Record<string, string>, ctx: ProbeContext): Record<string, CheckResult> {
  return Object.fromEntries(testable(ctx).map((id) => [id, evaluateInvariant(invariant(id), raw, ctx)]));
}

export function outcomes(results: Record<string, CheckResult>): Record<string, string> {
  return Object.fromEntries(Object.entries(results).map(([id, r]) => [id, r.outcome]));
}

/**
 * The context of a fixture's recording on one of the series' topology files
 * (patches/private-node/NAME.topology.json): for the checks that only such a topology can test (a CPU
 * slot on P, a boot-time HugeTLB pool, a second ordinary node). The profile is the fixture's unless given.
 */
export function seriesTopologyContext(name: string, fixture: string, profile?: ProbeContext['profile']): ProbeContext {
  const topology = parseTopology(
    JSON.parse(readFileSync(projectPath('patches', 'private-node', `${name}.topology.json`), 'utf8')),
    `${name}.topology.json`,
  );
  const ctx = contextOf(fixture);
  return { ...ctx, topology, roles: nodeRoles(topology)!, profile: profile ?? ctx.profile };
}

/** The series' matrix topology with ,user and a CPU slot on P, with the kernel state of the v2 ,user recording. */
export const hotplugContext = (): ProbeContext => seriesTopologyContext('private-user', 'patched-6.12-private-user');

/**
 * One check's step outputs recorded on one of the series' topologies (test/fixtures/<check id>/<name>.txt),
 * replayed through its parse and decide under the profile a test names.
 */
export function seriesRecordings(spec: InvariantSpec, topology: string) {
  const context = (profile: ProbeContext['profile']) =>
    seriesTopologyContext(topology, 'patched-6.12-private', profile);
  return {
    context,
    recorded: (name: string) => readFileSync(projectPath('test', 'fixtures', spec.id, `${name}.txt`), 'utf8'),
    outcome: (text: string, profile: ProbeContext['profile'] = 'private') =>
      evaluateInvariant(spec, { [spec.id]: text }, context(profile)),
  };
}
