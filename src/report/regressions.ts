import type { Outcome, Verdict } from '../model/verdict.js';
import { inert } from './markup.js';

/** Outcomes that fail a run; a check that moves into one of them from elsewhere regressed. */
const BAD: ReadonlySet<Outcome | 'boot-failed'> = new Set(['fail', 'error', 'xpass', 'not-run', 'boot-failed']);

interface OutcomeChange {
  cell: string;
  check: string;
  before: string;
  after: string;
  /** The new side's one-line summary. */
  summary: string;
}

interface NewCrash {
  cell: string;
  signature: string;
  title: string;
  during?: string;
}

interface Slower {
  cell: string;
  /** A stage (boot-to-ssh, probe) or a check id. */
  what: string;
  before: number;
  after: number;
}

interface ProfileChange {
  cell: string;
  /** The profile the kernel showed, or the one the run was judged by. */
  which: 'detected' | 'expected';
  before: string;
  after: string;
}

export interface Regressions {
  newlyFailing: OutcomeChange[];
  /** A pass that became xfail or skip: the run still holds, but the check no longer proves what it did. */
  weakened: OutcomeChange[];
  /** The kernel shows, or the run asks for, another profile than the baseline's: every column changed under the checks. */
  profileChanged: ProfileChange[];
  fixed: OutcomeChange[];
  /** xfail (or a failure) to skip: no longer tested (shown, not a regression). */
  newlySkipped: OutcomeChange[];
  /** Failing in both: known trouble, shown so a red night with no regression is not read as green. */
  stillFailing: OutcomeChange[];
  newCrashes: NewCrash[];
  vanishedChecks: OutcomeChange[];
  vanishedCells: string[];
  newCells: string[];
  slower: Slower[];
  /** Cells whose timings were not compared: the two nights ran under different accelerators. */
  otherAccel: string[];
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

const outcomeOf = (v: Verdict, id: string) => v.checks.find((c) => c.id === id);
const signatures = (v: Verdict) => new Set(v.crashes.map((c) => c.signature ?? `${c.type}: ${c.title}`));
const bad = (o: string) => BAD.has(o as Outcome);

/**
 * What changed from a baseline night to this one, cell by cell: newly
 * failing checks, fixed ones, new crash signatures, vanished checks and
 * cells, time regressions. Cells pair by id; two lone runs pair with each
 * other whatever their cells. scope: the cells the new report ran (a
 * shard's); baseline cells outside it are not its business. Pure.
 */
export function findRegressions(
  baseline: Map<string, Verdict>,
  current: Map<string, Verdict>,
  threshold = DEFAULT_TIME_THRESHOLD,
  scope?: Set<string>,
): Regressions {
  const inScope = [...baseline.keys()].filter((c) => !scope || scope.has(c));
  let pairs: [string, Verdict, Verdict][] = [...current].flatMap(([cell, v]) =>
    baseline.has(cell) ? [[cell, baseline.get(cell)!, v] as [string, Verdict, Verdict]] : [],
  );
  let vanishedCells = inScope.filter((c) => !current.has(c));
  let newCells = [...current.keys()].filter((c) => !baseline.has(c));
  if (baseline.size === 1 && current.size === 1 && !pairs.length) {
    const [cb, b] = [...baseline][0]!;
    const [ca, a] = [...current][0]!;
    pairs = [[ca === cb ? ca : `${cb} -> ${ca}`, b, a]];
    vanishedCells = [];
    newCells = [];
  }
  const r: Regressions = {
    newlyFailing: [],
    weakened: [],
    profileChanged: [],
    fixed: [],
    newlySkipped: [],
    stillFailing: [],
    newCrashes: [],
    vanishedChecks: [],
    vanishedCells,
    newCells,
    slower: [],
    otherAccel: [],
    compared: pairs.length,
  };
  for (const [cell, before, after] of pairs) {
    if (after.bootFailure && !before.bootFailure) {
      // One row, not one per check: every check of a guest that did not come up is not-run.
      r.newlyFailing.push({
        cell,
        check: 'boot',
        before: 'pass',
        after: 'boot-failed',
        summary: `${after.bootFailure.reason}: ${after.bootFailure.message}; ${after.checks.length} checks not run`,
      });
    } else {
      if (before.bootFailure && !after.bootFailure)
        r.fixed.push({ cell, check: 'boot', before: 'boot-failed', after: 'pass', summary: 'the guest came up' });
      for (const was of before.checks) {
        const now = outcomeOf(after, was.id);
        const change = {
          cell,
          check: was.id,
          before: was.outcome,
          after: now?.outcome ?? 'absent',
          summary: now?.summary ?? 'not in the new report',
        };
        // A check leaves the report only when the selection changed (every selected check is reported, not-run if need be).
        if (!now) r.vanishedChecks.push(change);
        else if (!bad(was.outcome) && bad(now.outcome)) r.newlyFailing.push(change);
        else if (bad(was.outcome) && bad(now.outcome)) r.stillFailing.push(change);
        else if (bad(was.outcome) && now.outcome !== 'skip') r.fixed.push(change);
        else if (was.outcome === 'pass' && (now.outcome === 'xfail' || now.outcome === 'skip')) r.weakened.push(change);
        else if (now.outcome === 'skip' && was.outcome !== 'skip') r.newlySkipped.push(change);
      }
    }
    const profiles = {
      detected: [before.profile?.profile, after.profile?.profile],
      expected: [before.expectedProfile?.profile, after.expectedProfile?.profile],
    };
    for (const which of ['detected', 'expected'] as const) {
      const [was, now] = profiles[which];
      // A report from before expectations were recorded has none: nothing to compare it with.
      if (was && now && was !== now) r.profileChanged.push({ cell, which, before: was, after: now });
    }
    const known = signatures(before);
    for (const c of after.crashes) {
      const signature = c.signature ?? `${c.type}: ${c.title}`;
      if (!known.has(signature) && !r.newCrashes.some((n) => n.cell === cell && n.signature === signature))
        r.newCrashes.push({ cell, signature, title: c.title, ...(c.during ? { during: c.during } : {}) });
    }
    if (before.accel.accel !== after.accel.accel) {
      r.otherAccel.push(`${cell} (${before.accel.accel} then ${after.accel.accel})`);
      continue;
    }
    const slower = (what: string, was?: number, now?: number) => {
      if (was === undefined || now === undefined) return;
      if (now - was >= threshold.minSeconds && now > was * (1 + threshold.percent / 100))
        r.slower.push({ cell, what, before: was, after: now });
    };
    for (const stage of TIMED_STAGES) slower(stage, before.timings[stage], after.timings[stage]);
    for (const c of after.checks) slower(c.id, outcomeOf(before, c.id)?.durationSeconds, c.durationSeconds);
  }
  return r;
}

const count = (r: Regressions) =>
  r.newlyFailing.length +
  r.weakened.length +
  r.profileChanged.length +
  r.newCrashes.length +
  r.vanishedChecks.length +
  r.vanishedCells.length +
  r.slower.length;

export const regressed = (r: Regressions): boolean => count(r) > 0;

/** "run 2026-11-27 14:07, TCG, kernels 6.12.117": when a report's runs began, under what, on which kernels. Pure. */
export function describeNight(verdicts: Verdict[]): string {
  const stamps = verdicts
    .map((v) => /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})/.exec(v.runId))
    .filter((m) => m !== null)
    .map((m) => `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}`)
    .sort();
  const accels = [...new Set(verdicts.map((v) => v.accel.accel.toUpperCase()))];
  const kernels = [...new Set(verdicts.map((v) => v.kernel.release))];
  return `${stamps.length ? `run ${stamps[0]}, ` : ''}${accels.join('/')}, kernel${kernels.length > 1 ? 's' : ''} ${kernels.join(', ')}`;
}

/**
 * A table cell or list item of the Markdown summary, one line and inert for
 * the runner: no HTML tag can open (a guest's text is no markup) except in a
 * code span, where Markdown shows it as it is.
 */
const md = (s: string) =>
  inert(/^`[^`]*`$/.test(s) ? s : s.replace(/&/g, '&amp;').replace(/</g, '&lt;'))
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

/** A comparison with the names of its two sides, as the reports show it. */
export interface Comparison {
  regressions: Regressions;
  names: { baseline: string; current: string };
}

/**
 * One section of the comparison: a table, or a list of cells (list). strong and code name the
 * column shown in bold or as code. regression: whether its rows fail the comparison.
 */
export interface RegressionTable {
  title: string;
  head: string[];
  rows: string[][];
  regression: boolean;
  list?: boolean;
  strong?: number;
  code?: number;
}

/** The comparison's sections in the order a reader should see them, empty ones left out. Pure. */
export function regressionTables(r: Regressions): RegressionTable[] {
  const changes = (c: OutcomeChange[]) => c.map((x) => [x.cell, x.check, x.before, x.after, x.summary]);
  const list = (title: string, cells: string[], regression: boolean): RegressionTable => ({
    title,
    head: ['cell'],
    rows: cells.map((c) => [c]),
    regression,
    list: true,
  });
  const all: RegressionTable[] = [
    {
      title: 'Newly failing',
      head: ['cell', 'check', 'baseline', 'now', 'summary'],
      rows: changes(r.newlyFailing),
      regression: true,
      strong: 1,
    },
    {
      title: 'Weaker than the baseline (a pass became xfail or skip)',
      head: ['cell', 'check', 'baseline', 'now', 'summary'],
      rows: changes(r.weakened),
      regression: true,
      strong: 1,
    },
    {
      title: 'Kernel profile changed',
      head: ['cell', 'profile', 'baseline', 'now'],
      rows: r.profileChanged.map((c) => [c.cell, c.which, c.before, c.after]),
      regression: true,
    },
    {
      title: 'New crash signatures',
      head: ['cell', 'signature', 'during', 'title'],
      rows: r.newCrashes.map((c) => [c.cell, c.signature, c.during ?? '', c.title]),
      regression: true,
      code: 1,
    },
    {
      title: 'Vanished checks',
      head: ['cell', 'check', 'baseline'],
      rows: r.vanishedChecks.map((c) => [c.cell, c.check, c.before]),
      regression: true,
    },
    list('Vanished cells', r.vanishedCells, true),
    {
      title: 'Slower',
      head: ['cell', 'stage or check', 'baseline s', 'now s'],
      rows: r.slower.map((s) => [s.cell, s.what, s.before.toFixed(1), s.after.toFixed(1)]),
      regression: true,
    },
    {
      title: 'Fixed',
      head: ['cell', 'check', 'baseline', 'now'],
      rows: r.fixed.map((c) => [c.cell, c.check, c.before, c.after]),
      regression: false,
    },
    {
      title: 'Still failing (not a regression)',
      head: ['cell', 'check', 'baseline', 'now', 'summary'],
      rows: changes(r.stillFailing),
      regression: false,
    },
    {
      title: 'Newly skipped (not a regression)',
      head: ['cell', 'check', 'baseline', 'summary'],
      rows: r.newlySkipped.map((c) => [c.cell, c.check, c.before, c.summary]),
      regression: false,
    },
    list('New cells (no baseline)', r.newCells, false),
    list('Timings not compared (another accelerator)', r.otherAccel, false),
  ];
  return all.filter((t) => t.rows.length);
}

/** The headline of a comparison: how many regressions since the baseline. Pure. */
export function comparisonHeadline(r: Regressions): string {
  const n = count(r);
  return `${n ? `${n} regression${n > 1 ? 's' : ''}` : 'no regressions'} since the baseline`;
}

/** The comparison as Markdown, for a CI job summary: the regressions first, then what was fixed. Pure. */
export function renderRegressionsMarkdown(r: Regressions, names: { baseline: string; current: string }): string {
  const out = [
    `## numacage: ${comparisonHeadline(r)}`,
    '',
    `${r.compared} cell(s) compared; baseline \`${names.baseline}\`, now \`${names.current}\`.`,
  ];
  for (const t of regressionTables(r)) {
    if (t.list) {
      out.push('', `### ${t.title}`, '', ...t.rows.map(([c]) => `- ${md(c!)}`));
      continue;
    }
    const cell = (v: string, i: number) => (i === t.strong ? `**${v}**` : i === t.code ? `\`${v}\`` : v);
    out.push(
      '',
      `### ${t.title}`,
      '',
      `| ${t.head.join(' | ')} |`,
      `|${t.head.map(() => '---').join('|')}|`,
      ...t.rows.map((row) => `| ${row.map((v, i) => md(cell(v, i))).join(' | ')} |`),
    );
  }
  return out.join('\n') + '\n';
}

/** The same for a terminal. Pure. */
export function renderRegressionsText(r: Regressions): string {
  const n = count(r);
  const out = [
    `${n ? `REGRESSED: ${n} regression${n > 1 ? 's' : ''}` : 'no regressions'} in ${r.compared} cell(s) against the baseline`,
  ];
  for (const c of r.newlyFailing)
    out.push(`  newly failing  ${c.cell}  ${c.check}: ${c.before} -> ${c.after}  (${c.summary})`);
  for (const c of r.weakened)
    out.push(`  weakened       ${c.cell}  ${c.check}: ${c.before} -> ${c.after}  (${c.summary})`);
  for (const c of r.profileChanged) out.push(`  profile        ${c.cell}  ${c.which}: ${c.before} -> ${c.after}`);
  for (const c of r.newCrashes)
    out.push(`  new crash      ${c.cell}  ${c.signature}${c.during ? `  during ${c.during}` : ''}`);
  for (const c of r.vanishedChecks) out.push(`  vanished       ${c.cell}  ${c.check} (was ${c.before})`);
  for (const c of r.vanishedCells) out.push(`  vanished cell  ${c}`);
  for (const s of r.slower)
    out.push(`  slower         ${s.cell}  ${s.what}: ${s.before.toFixed(1)} s -> ${s.after.toFixed(1)} s`);
  for (const c of r.fixed) out.push(`  fixed          ${c.cell}  ${c.check}: ${c.before} -> ${c.after}`);
  for (const c of r.stillFailing) out.push(`  still failing  ${c.cell}  ${c.check}: ${c.after}`);
  for (const c of r.newlySkipped) out.push(`  newly skipped  ${c.cell}  ${c.check}: ${c.before} -> skip`);
  for (const c of r.newCells) out.push(`  new cell       ${c} (no baseline)`);
  for (const c of r.otherAccel) out.push(`  timings not compared: ${c}`);
  return out.join('\n') + '\n';
}
