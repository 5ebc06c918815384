import type { CheckResult } from '../model/verdict.js';
import { judge } from '../model/verdict.js';
import { type InvariantSpec, type ProbeContext } from './spec.js';
import { KernelLacks, ProbeError } from './errors.js';

/**
 * An invariant's outcome from its steps' raw outputs, against what the
 * booted kernel's profile predicts. Output that cannot answer the question
 * is an error, never a pass; a kernel without the feature is a skip. Pure.
 */
export function evaluateInvariant(spec: InvariantSpec, raw: Record<string, string>, ctx: ProbeContext): CheckResult {
  const expected = spec.expect[ctx.profile];
  const base = { id: spec.id, title: spec.title, expected, problems: [], evidence: {} };
  if (expected === 'n/a') return { ...base, outcome: 'skip', summary: `not defined for a ${ctx.profile} kernel` };
  try {
    const d = spec.decide(spec.parse(raw, ctx), ctx);
    return { ...base, outcome: judge(d.passed, expected), summary: d.summary, problems: d.passed ? [] : d.problems, evidence: d.evidence };
  } catch (err) {
    if (err instanceof KernelLacks) return { ...base, outcome: 'skip', summary: err.message };
    const why = err instanceof ProbeError ? err.message : `the probe's output broke its reader: ${(err as Error).message}`;
    return { ...base, outcome: 'error', summary: `probe failed: ${why}` };
  }
}

/** A check that is not run at all, with the reason. */
export function notRunResult(
  spec: InvariantSpec,
  ctx: Pick<ProbeContext, 'profile'> | undefined,
  outcome: 'skip' | 'error' | 'not-run',
  summary: string,
): CheckResult {
  return {
    id: spec.id,
    title: spec.title,
    expected: ctx ? spec.expect[ctx.profile] : 'pass',
    outcome,
    summary,
    problems: [],
    evidence: {},
  };
}
