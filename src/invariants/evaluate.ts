import type { CheckResult } from '../model/verdict.js';
import { judge } from '../model/verdict.js';
import { expectationOf, type InvariantSpec, type ProbeContext } from './spec.js';
import { KernelLacks, ProbeError } from './errors.js';
import { profileMismatch } from './expectation.js';
import { judgeWitness, type StepWitness } from './witness.js';

/**
 * An invariant's outcome from its steps' raw outputs, against the column of
 * the profile the run asked for. Output that cannot answer the question
 * is an error, never a pass; a kernel without the feature is a skip; a
 * placement the host's witness contradicts is an error. Pure.
 */
export function evaluateInvariant(
  spec: InvariantSpec,
  raw: Record<string, string>,
  ctx: ProbeContext,
  witness: StepWitness[] = [],
): CheckResult {
  const result = evaluateGuestClaims(spec, raw, ctx, witness);
  if (!witness.length || result.outcome === 'skip') return result;
  // A guest claim the host contradicts is an error, whatever the guest's verdict was.
  const { contradictions, evidence } = judgeWitness(witness, raw, ctx.roles.p);
  const witnessed = { ...result, evidence: { ...result.evidence, ...evidence } };
  if (!contradictions.length) return witnessed;
  return {
    ...witnessed,
    outcome: 'error',
    summary: `the host contradicts the guest: ${contradictions[0]}`,
    // An error's reason is its summary alone: keep it.
    problems: [...contradictions, ...(result.outcome === 'error' ? [result.summary] : result.problems)],
  };
}

function evaluateGuestClaims(
  spec: InvariantSpec,
  raw: Record<string, string>,
  ctx: ProbeContext,
  witness: StepWitness[],
): CheckResult {
  const expected = expectationOf(spec, ctx);
  const base = { id: spec.id, title: spec.title, expected, problems: [], evidence: {} };
  if (expected === 'n/a') return { ...base, outcome: 'skip', summary: `not defined for a ${ctx.profile} kernel` };
  try {
    const d = spec.decide(spec.parse(raw, ctx), ctx, witness);
    const mismatch =
      spec.judgesProfile && ctx.detected ? profileMismatch(ctx.profile, ctx.detected, ctx.roles.p) : undefined;
    const evidence =
      spec.judgesProfile && ctx.detected
        ? { ...d.evidence, expectedProfile: ctx.profile, detectedProfile: ctx.detected }
        : d.evidence;
    const charts = d.placements?.length ? { placements: d.placements } : {};
    // A kernel that is not what was asked for fails, even where the asked-for column expects a failure.
    if (mismatch)
      return {
        ...base,
        outcome: 'fail',
        summary: mismatch,
        problems: [mismatch, ...(d.passed ? [] : d.problems)],
        evidence,
        ...charts,
      };
    return {
      ...base,
      outcome: judge(d.passed, expected),
      summary: d.summary,
      problems: d.passed ? [] : d.problems,
      evidence,
      ...charts,
    };
  } catch (err) {
    if (err instanceof KernelLacks) return { ...base, outcome: 'skip', summary: err.message };
    const why =
      err instanceof ProbeError ? err.message : `the probe's output broke its reader: ${(err as Error).message}`;
    return { ...base, outcome: 'error', summary: `probe failed: ${why}` };
  }
}

/** A check that is not run at all, with the reason. */
export function notRunResult(
  spec: InvariantSpec,
  ctx: (Pick<ProbeContext, 'profile'> & Partial<Pick<ProbeContext, 'topology' | 'roles'>>) | undefined,
  outcome: 'skip' | 'error' | 'not-run',
  summary: string,
): CheckResult {
  return {
    id: spec.id,
    title: spec.title,
    expected: ctx ? expectationOf(spec, ctx) : 'pass',
    outcome,
    summary,
    problems: [],
    evidence: {},
  };
}
