import type { SubtestResult, Verdict } from '../model/verdict.js';
import { esc } from './markup.js';

function subtestInner(st: SubtestResult): string {
  const why = st.reason ? `: ${st.reason}` : '';
  if (st.outcome === 'fail' || st.outcome === 'xpass') return `<failure message="${esc(`${st.outcome}${why}`)}"/>`;
  if (st.outcome === 'error') return `<error message="${esc(`error${why}`)}"/>`;
  if (st.outcome === 'skip') return `<skipped message="${esc(st.reason ?? 'skipped')}"/>`;
  if (st.outcome === 'xfail') return `<system-out>${esc(`expected failure${why}`)}</system-out>`;
  return '';
}

/** One <testsuite>: a testcase per check (and one for the boot). */
function junitSuite(v: Verdict, suite: string): string[] {
  const cases: string[] = [];
  cases.push(
    v.bootFailure
      ? `    <testcase classname="${esc(suite)}" name="boot"><failure message="${esc(v.bootFailure.reason)}">${esc([v.bootFailure.message, ...v.bootFailure.consoleTail].join('\n'))}</failure></testcase>`
      : `    <testcase classname="${esc(suite)}" name="boot" time="${(v.timings['boot-to-ssh'] ?? 0).toFixed(1)}"/>`,
  );
  v.crashes.forEach((c, i) =>
    cases.push(
      `    <testcase classname="${esc(suite)}" name="console-${i + 1}-${esc(c.type)}"><failure message="${esc(c.title)}">${esc(c.lines.join('\n'))}</failure></testcase>`,
    ),
  );
  for (const c of v.checks) {
    const body = [c.summary, ...c.problems].join('\n');
    let inner = '';
    if (c.outcome === 'fail' || c.outcome === 'xpass')
      inner = `<failure message="${esc(`${c.outcome}: ${c.summary}`)}">${esc(body)}</failure>`;
    else if (c.outcome === 'error' || c.outcome === 'not-run')
      inner = `<error message="${esc(`${c.outcome}: ${c.summary}`)}">${esc(body)}</error>`;
    else if (c.outcome === 'skip') inner = `<skipped message="${esc(c.summary)}"/>`;
    else if (c.outcome === 'xfail') inner = `<system-out>${esc(`expected failure: ${body}`)}</system-out>`;
    const time = c.durationSeconds !== undefined ? ` time="${c.durationSeconds.toFixed(1)}"` : '';
    cases.push(`    <testcase classname="${esc(suite)}" name="${esc(c.id)}"${time}>${inner}</testcase>`);
    // A test step's TAP test points: one testcase each, under the step.
    for (const st of c.subtests ?? [])
      cases.push(
        `    <testcase classname="${esc(`${suite}.${c.id}`)}" name="${esc(`${st.id} ${st.name}`)}">${subtestInner(st)}</testcase>`,
      );
  }
  const outcomes = v.checks.flatMap((c) => [c.outcome, ...(c.subtests ?? []).map((st) => st.outcome)]);
  const failures =
    outcomes.filter((o) => o === 'fail' || o === 'xpass').length + (v.bootFailure ? 1 : 0) + v.crashes.length;
  const errors = outcomes.filter((o) => o === 'error' || o === 'not-run').length;
  const skipped = outcomes.filter((o) => o === 'skip').length;
  return [
    `  <testsuite name="${esc(suite)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${(v.timings.total ?? 0).toFixed(1)}">`,
    ...cases,
    '  </testsuite>',
  ];
}

const document = (suites: string[]) =>
  ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="numacage">`, ...suites, '</testsuites>', ''].join('\n');

/** JUnit XML of one run. Pure. */
export function renderJunit(v: Verdict): string {
  return document(junitSuite(v, `numacage.${v.topology}.${v.kernel.kind}`));
}

/** JUnit XML of a matrix: one <testsuite> per cell, named numacage.<topology>.<kernel>[#guest]. Pure. */
export function renderJunitMatrix(runs: { cell: string; verdict: Verdict }[]): string {
  return document(runs.flatMap((r) => junitSuite(r.verdict, `numacage.${r.cell.replace('/', '.')}`)));
}
