import type { Outcome, Verdict } from '../model/verdict.js';

/** Outcomes that fail a run; a check that moves into one of them from elsewhere regressed. */
const BAD: ReadonlySet<Outcome | 'boot-failed'> = new Set(['fail', 'error', 'xpass', 'not-run', 'boot-failed']);

export interface OutcomeChange {
  cell: string;
  check: string;
  before: string;
  after: string;
  /** The new side's one-line summary. */
  summary: string;
}

export interface NewCrash {
  cell: string;
  signature: string;
  title: string;
  during?: string;
}

export interface Slower {
  cell: string;
  /** A stage (boot-to-ssh, probe, total) or a check id. */
  what: string;
  before: number;
  after: number;
}

export interface Regressions {
  newlyFailing: OutcomeChange[];
  fixed: OutcomeChange[];
  newCrashes: NewCrash[];
  vanishedChecks: OutcomeChange[];
  vanishedCells: string[];
  newCells: string[];
  slower: Slower[];
  /** Cells compared (present on both sides). */
  compared: number;
}

export interface TimeThreshold {
  /** Slower by more than this many percent... */
  percent: number;
  /** ...and by at least this many seconds (TCG timings wobble by a few seconds). */
  minSeconds: number;
}

export const DEFAULT_TIME_THRESHOLD: TimeThreshold = { percent: 50, minSeconds: 5 };

/** Stages whose time says something about the kernel; image and kernel are a cache hit or a build. */
const TIMED_STAGES = ['boot-to-ssh', 'probe'];

/** A boot is a check of its own here: a cell that stops booting regressed. */
function outcomes(v: Verdict): Map<string, { outcome: string; summary: string }> {
  const m = new Map<string, { outcome: string; summary: string }>();
  m.set('boot', v.bootFailure ? { outcome: 'boot-failed', summary: `${v.bootFailure.reason}: ${v.bootFailure.message}` } : { outcome: 'pass', summary: 'the guest came up' });
  for (const c of v.checks) m.set(c.id, { outcome: c.outcome, summary: c.summary });
  return m;
}

const signatures = (v: Verdict) => new Set(v.crashes.map((c) => c.signature ?? `${c.type}: ${c.title}`));

/**
 * What changed from a baseline night to this one, cell by cell: newly
 * failing checks, fixed ones, new crash signatures, vanished checks and
 * cells, time regressions. Cells pair by id; two lone runs pair with each
 * other whatever their cells. Pure.
 */
export function findRegressions(baseline: Map<string, Verdict>, current: Map<string, Verdict>, threshold = DEFAULT_TIME_THRESHOLD): Regressions {
  let pairs: [string, Verdict, Verdict][] = [...current].flatMap(([cell, v]) => (baseline.has(cell) ? [[cell, baseline.get(cell)!, v] as [string, Verdict, Verdict]] : []));
  let vanishedCells = [...baseline.keys()].filter((c) => !current.has(c));
  let newCells = [...current.keys()].filter((c) => !baseline.has(c));
  if (baseline.size === 1 && current.size === 1 && !pairs.length) {
    const [cb, b] = [...baseline][0]!;
    const [ca, a] = [...current][0]!;
    pairs = [[ca === cb ? ca : `${cb} -> ${ca}`, b, a]];
    vanishedCells = [];
    newCells = [];
  }
  const r: Regressions = { newlyFailing: [], fixed: [], newCrashes: [], vanishedChecks: [], vanishedCells, newCells, slower: [], compared: pairs.length };
  for (const [cell, before, after] of pairs) {
    const b = outcomes(before);
    const a = outcomes(after);
    for (const [check, was] of b) {
      const now = a.get(check);
      if (!now) {
        // A boot that failed runs no checks: those are not-run, not vanished; a check gone from a booted guest is.
        r.vanishedChecks.push({ cell, check, before: was.outcome, after: 'absent', summary: 'not in the new report' });
        continue;
      }
      const change = { cell, check, before: was.outcome, after: now.outcome, summary: now.summary };
      if (!BAD.has(was.outcome as Outcome) && BAD.has(now.outcome as Outcome)) r.newlyFailing.push(change);
      else if (BAD.has(was.outcome as Outcome) && !BAD.has(now.outcome as Outcome)) r.fixed.push(change);
    }
    const known = signatures(before);
    for (const c of after.crashes) {
      const signature = c.signature ?? `${c.type}: ${c.title}`;
      if (!known.has(signature) && !r.newCrashes.some((n) => n.cell === cell && n.signature === signature))
        r.newCrashes.push({ cell, signature, title: c.title, ...(c.during ? { during: c.during } : {}) });
    }
    const slower = (what: string, was?: number, now?: number) => {
      if (was === undefined || now === undefined) return;
      if (now - was >= threshold.minSeconds && now > was * (1 + threshold.percent / 100)) r.slower.push({ cell, what, before: was, after: now });
    };
    for (const stage of TIMED_STAGES) slower(stage, before.timings[stage], after.timings[stage]);
    for (const c of after.checks) slower(c.id, before.checks.find((x) => x.id === c.id)?.durationSeconds, c.durationSeconds);
  }
  return r;
}

export const regressed = (r: Regressions): boolean =>
  r.newlyFailing.length + r.newCrashes.length + r.vanishedChecks.length + r.vanishedCells.length + r.slower.length > 0;

const count = (r: Regressions) => r.newlyFailing.length + r.newCrashes.length + r.vanishedChecks.length + r.vanishedCells.length + r.slower.length;

const md = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The comparison as Markdown, for a CI job summary: the regressions first, then what was fixed. Pure. */
export function renderRegressionsMarkdown(r: Regressions, names: { baseline: string; current: string }): string {
  const n = count(r);
  const out = [
    `## numacage: ${n ? `${n} regression${n > 1 ? 's' : ''}` : 'no regressions'} since the baseline`,
    '',
    `${r.compared} cell(s) compared; baseline \`${names.baseline}\`, now \`${names.current}\`.`,
  ];
  const table = (title: string, head: string[], rows: string[][]) => {
    if (!rows.length) return;
    out.push('', `### ${title}`, '', `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(md).join(' | ')} |`));
  };
  table('Newly failing', ['cell', 'check', 'baseline', 'now', 'summary'], r.newlyFailing.map((c) => [c.cell, `**${c.check}**`, c.before, c.after, c.summary]));
  table('New crash signatures', ['cell', 'signature', 'during', 'title'], r.newCrashes.map((c) => [c.cell, `\`${c.signature}\``, c.during ?? '', c.title]));
  table('Vanished checks', ['cell', 'check', 'baseline'], r.vanishedChecks.map((c) => [c.cell, c.check, c.before]));
  if (r.vanishedCells.length) out.push('', '### Vanished cells', '', ...r.vanishedCells.map((c) => `- ${md(c)}`));
  table('Slower', ['cell', 'stage or check', 'baseline s', 'now s'], r.slower.map((s) => [s.cell, s.what, s.before.toFixed(1), s.after.toFixed(1)]));
  table('Fixed', ['cell', 'check', 'baseline', 'now'], r.fixed.map((c) => [c.cell, c.check, c.before, c.after]));
  if (r.newCells.length) out.push('', '### New cells (no baseline)', '', ...r.newCells.map((c) => `- ${md(c)}`));
  return out.join('\n') + '\n';
}

/** The same for a terminal. Pure. */
export function renderRegressionsText(r: Regressions): string {
  const n = count(r);
  const out = [`${n ? `REGRESSED: ${n} regression${n > 1 ? 's' : ''}` : 'no regressions'} in ${r.compared} cell(s) against the baseline`];
  for (const c of r.newlyFailing) out.push(`  newly failing  ${c.cell}  ${c.check}: ${c.before} -> ${c.after}  (${c.summary})`);
  for (const c of r.newCrashes) out.push(`  new crash      ${c.cell}  ${c.signature}${c.during ? `  during ${c.during}` : ''}`);
  for (const c of r.vanishedChecks) out.push(`  vanished       ${c.cell}  ${c.check} (was ${c.before})`);
  for (const c of r.vanishedCells) out.push(`  vanished cell  ${c}`);
  for (const s of r.slower) out.push(`  slower         ${s.cell}  ${s.what}: ${s.before.toFixed(1)} s -> ${s.after.toFixed(1)} s`);
  for (const c of r.fixed) out.push(`  fixed          ${c.cell}  ${c.check}: ${c.before} -> ${c.after}`);
  for (const c of r.newCells) out.push(`  new cell       ${c} (no baseline)`);
  return out.join('\n') + '\n';
}
