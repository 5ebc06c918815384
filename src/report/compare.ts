import type { CheckResult, Verdict } from '../model/verdict.js';
import { runLabel } from './matrix.js';

interface CheckComparison {
  id: string;
  before?: CheckResult;
  after?: CheckResult;
  /** The outcome changed (a check present on one side only counts as changed). */
  changed: boolean;
  /** Top-level evidence keys whose values differ. */
  evidenceChanged: string[];
}

export interface Comparison {
  before: Verdict;
  after: Verdict;
  checks: CheckComparison[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Two runs check by check, in the order of the first. Pure. */
export function compareVerdicts(before: Verdict, after: Verdict): Comparison {
  const ids = [...new Set([...before.checks, ...after.checks].map((c) => c.id))];
  const checks = ids.map((id) => {
    const b = before.checks.find((c) => c.id === id);
    const a = after.checks.find((c) => c.id === id);
    const keys = [...new Set([...Object.keys(b?.evidence ?? {}), ...Object.keys(a?.evidence ?? {})])];
    return {
      id,
      ...(b ? { before: b } : {}),
      ...(a ? { after: a } : {}),
      changed: b?.outcome !== a?.outcome,
      evidenceChanged: keys.filter((k) => !same(b?.evidence[k], a?.evidence[k])),
    };
  });
  return { before, after, checks };
}

const short = (v: unknown) => {
  const s = JSON.stringify(v) ?? 'absent';
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/** The comparison as a table, then what changed in each check that flipped. Pure. */
export function renderComparison(c: Comparison): string {
  const [lb, la] = [runLabel(c.before), runLabel(c.after)];
  const w = Math.max(10, lb.length, la.length);
  const first = Math.max(14, ...c.checks.map((x) => x.id.length));
  const row = (id: string, b: string, a: string, mark: string) =>
    `${id.padEnd(first)}  ${b.padEnd(w)}  ${a.padEnd(w)}  ${mark}`.trimEnd();
  const out = [
    `before: ${lb} ${c.before.kernel.release}, profile ${c.before.profile?.profile ?? '?'} (${c.before.runId})`,
    `after:  ${la} ${c.after.kernel.release}, profile ${c.after.profile?.profile ?? '?'} (${c.after.runId})`,
    '',
    row('', lb, la, ''),
  ];
  for (const x of c.checks)
    out.push(row(x.id, x.before?.outcome ?? '-', x.after?.outcome ?? '-', x.changed ? 'changed' : ''));
  const flipped = c.checks.filter((x) => x.changed);
  out.push('', `${flipped.length} of ${c.checks.length} checks changed outcome`);
  for (const x of flipped) {
    out.push('', `${x.id}: ${x.before?.outcome ?? 'absent'} -> ${x.after?.outcome ?? 'absent'}`);
    out.push(`  before: ${x.before?.summary ?? '-'}`, `  after:  ${x.after?.summary ?? '-'}`);
    for (const k of x.evidenceChanged)
      out.push(`  ${k}: ${short(x.before?.evidence[k])} -> ${short(x.after?.evidence[k])}`);
  }
  return out.join('\n') + '\n';
}
