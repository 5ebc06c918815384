import { judge } from '../model/verdict.js';
import { expectationFor } from './expectations.js';
/** An invariant's outcome against what the booted kernel's profile predicts. Pure. */
export function checkInvariant(inv, obs, ctx, topology) {
    const expected = expectationFor(inv.id, ctx.profile);
    const base = { id: inv.id, title: inv.title, expected };
    const unsupported = topology && inv.unsupported?.(topology, ctx.roles);
    if (unsupported)
        return { ...base, outcome: 'skip', summary: unsupported, problems: [], evidence: {} };
    if (expected === 'n/a')
        return { ...base, outcome: 'skip', summary: `not defined for a ${ctx.profile} kernel`, problems: [], evidence: {} };
    const error = obs.errors[inv.id];
    const d = error ? undefined : inv.evaluate(obs, ctx);
    if (!d)
        return { ...base, outcome: 'error', summary: `probe failed: ${error ?? 'no observations'}`, problems: [], evidence: {} };
    return { ...base, outcome: judge(d.passed, expected), summary: d.summary, problems: d.passed ? [] : d.problems, evidence: d.evidence };
}
//# sourceMappingURL=invariant.js.map