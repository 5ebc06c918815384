import type { Verdict } from '../model/verdict.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { renderJunit, renderJunitMatrix } from './junit.js';
import { renderKtap, renderKtapMatrix } from './ktap.js';
import { renderMatrix } from './matrix.js';
import type { MatrixReport } from './matrix-report.js';
import { renderRegressionsMarkdown, type Comparison } from './regressions.js';
import { renderText } from './text.js';

/**
 * What a report directory is about: one run (its run dir), or several cells
 * (a matrix or a shard of one, or a merge of shards), and its comparison with
 * a baseline, when there was one.
 */
export type ReportSubject = { title: string; comparison?: Comparison } & (
  { kind: 'run'; verdict: Verdict; runDir: string } | { kind: 'matrix' | 'merge'; report: MatrixReport }
);

export interface ReportOutput {
  file: (kind: ReportSubject['kind']) => string;
  /** The file's text, or undefined when the subject has none (no baseline, no regressions.md). */
  render: (subject: ReportSubject, generatedAt: string) => string | undefined;
}

const runsOf = (s: ReportSubject) =>
  s.kind === 'run' ? [{ cell: s.verdict.cell!, verdict: s.verdict, runDir: '.' }] : s.report.runs;

/**
 * Every file a report directory holds, in the order written: a new format is
 * one row here. The JSON comes last, whole or not at all (the writer renames
 * it into place): it is what merge and compare look for.
 */
export const REPORT_OUTPUTS: ReportOutput[] = [
  {
    file: () => 'junit.xml',
    render: (s) => (s.kind === 'run' ? renderJunit(s.verdict) : renderJunitMatrix(s.report.runs)),
  },
  {
    file: () => 'results.ktap',
    render: (s) => (s.kind === 'run' ? renderKtap(s.verdict) : renderKtapMatrix(s.report.runs)),
  },
  {
    file: (kind) => (kind === 'matrix' ? 'matrix.txt' : 'summary.txt'),
    render: (s) =>
      s.kind === 'run' ? renderText(s.verdict, s.runDir) : renderMatrix(s.report.runs.map((r) => r.verdict)),
  },
  {
    file: () => 'report.html',
    render: (s, generatedAt) =>
      renderHtml({
        title: s.title,
        generatedAt,
        runs: runsOf(s),
        ...(s.comparison ? { comparison: s.comparison } : {}),
      }),
  },
  {
    file: () => 'regressions.md',
    render: (s) => s.comparison && renderRegressionsMarkdown(s.comparison.regressions, s.comparison.names),
  },
  {
    file: (kind) => (kind === 'matrix' ? 'matrix.json' : 'report.json'),
    render: (s) => (s.kind === 'run' ? renderJson(s.verdict) : `${JSON.stringify(s.report, null, 2)}\n`),
  },
];
