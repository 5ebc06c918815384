import test from 'ava';
import type { Verdict } from '../../src/model/verdict.js';
import type { MatrixReport } from '../../src/report/matrix-report.js';
import { REPORT_OUTPUTS, type ReportSubject } from '../../src/report/outputs.js';
import { findRegressions } from '../../src/report/regressions.js';
import { fixture } from '../helpers/fixtures.js';

// The one table of report files that run, matrix and merge write (src/report/outputs.ts), on the
// recorded lean kernel's run (test/fixtures/runs/README.md).
// It was recorded before reports named their cell: the cell is the one its matrix gave it.
const verdict = {
  cell: 'private-virtio/built',
  ...(JSON.parse(fixture('runs/lean-vs-private-node/built.report.json')) as Verdict),
};
const report: MatrixReport = {
  kind: 'numacage-matrix',
  ok: false,
  cells: [verdict.cell!],
  runs: [{ cell: verdict.cell!, runDir: 'runs/x', ok: false, verdict }],
};
// The night compared with itself: no regression, but a comparison all the same.
const cells = new Map([[verdict.cell!, verdict as Verdict]]);
const comparison = { regressions: findRegressions(cells, cells), names: { baseline: 'last-good', current: 'tonight' } };
const files = (s: ReportSubject) =>
  REPORT_OUTPUTS.filter((o) => o.render(s, '2026-12-02T00:00:00Z') !== undefined).map((o) => o.file(s.kind));

test('a run, a matrix and a merge write the same formats, each under its own names, the JSON last', (t) => {
  const run: ReportSubject = { kind: 'run', title: 'numacage r', verdict, runDir: '/runs/r' };
  t.deepEqual(files(run), ['junit.xml', 'results.ktap', 'summary.txt', 'report.html', 'report.json']);
  t.deepEqual(files({ kind: 'matrix', title: 'numacage m', report }), [
    'junit.xml',
    'results.ktap',
    'matrix.txt',
    'report.html',
    'matrix.json',
  ]);
  t.deepEqual(files({ kind: 'merge', title: 'numacage night', report, comparison }), [
    'junit.xml',
    'results.ktap',
    'summary.txt',
    'report.html',
    'regressions.md',
    'report.json',
  ]);
});

test('each renderer gets the subject it is written for: the title, the run and the regressions', (t) => {
  const html = REPORT_OUTPUTS.find((o) => o.file('merge') === 'report.html')!;
  const text = html.render(
    { kind: 'merge', title: 'numacage 20261202-night', report, comparison },
    '2026-12-02T00:00:00Z',
  )!;
  t.regex(text, /<title>numacage 20261202-night<\/title>/);
  t.regex(text, /no regressions since the baseline/);
  const json = REPORT_OUTPUTS.at(-1)!;
  t.deepEqual(JSON.parse(json.render({ kind: 'merge', title: '', report }, '')!), report);
  t.is(JSON.parse(json.render({ kind: 'run', title: '', verdict, runDir: '.' }, '')!).runId, verdict.runId);
});
