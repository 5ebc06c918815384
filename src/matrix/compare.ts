import { appendFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { writeWhole } from '../adapters/report-files.js';
import { renderHtml } from '../report/html.js';
import { ConfigError } from '../model/errors.js';
import type { Verdict } from '../model/verdict.js';
import { compareVerdicts, renderComparison } from '../report/compare.js';
import { kernelLabel } from '../report/matrix.js';
import {
  describeNight,
  findRegressions,
  regressed,
  renderRegressionsMarkdown,
  renderRegressionsText,
  type TimeThreshold,
} from '../report/regressions.js';
import { cellVerdicts, loadReport } from './reports.js';

export interface CompareOptions {
  by?: 'kernel';
  /** Where the Markdown summary is appended ($GITHUB_STEP_SUMMARY works). */
  markdownFile?: string;
  /** Where the HTML report of the new night with its comparison is written (whole, or not at all). */
  htmlFile?: string;
  timeThreshold?: TimeThreshold;
}

/** For each topology of one matrix, its first kernel against each other one. */
function compareKernels(path: string): string {
  const runs = loadReport(path).runs.map((r) => r.verdict);
  const out: string[] = [];
  for (const topology of [...new Set(runs.map((r) => r.topology))]) {
    const cells = runs.filter((r) => r.topology === topology);
    for (const other of cells.slice(1).filter((c) => kernelLabel(c) !== kernelLabel(cells[0]!)))
      out.push(renderComparison(compareVerdicts(cells[0]!, other)));
  }
  if (!out.length) throw new ConfigError(`${path}: the matrix has no two kernels on one topology`);
  return out.join('\n');
}

/**
 * `numacage compare BASELINE NEW`: regressions cell by cell (two lone runs
 * also side by side, check by check). With `--by kernel` and one matrix
 * directory: for each topology, the first kernel against each other one.
 */
export async function compareCommand(
  paths: string[],
  opts: CompareOptions = {},
): Promise<{ text: string; regressed: boolean }> {
  if (opts.by === 'kernel') {
    if (paths.length !== 1) throw new ConfigError('compare --by kernel takes one matrix directory');
    return { text: compareKernels(paths[0]!), regressed: false };
  }
  if (paths.length !== 2)
    throw new ConfigError(
      'compare takes two reports: BASELINE NEW (run, matrix or merged directories, or their report.json / matrix.json)',
      'numacage compare BASELINE NEW, or numacage compare MATRIX_DIR --by kernel',
    );
  const [baseline, current] = [cellVerdicts(loadReport(paths[0]!)), cellVerdicts(loadReport(paths[1]!))];
  // Nothing compared is no evidence of no regression.
  for (const [i, cells] of [baseline, current].entries())
    if (cells.size === 0)
      throw new ConfigError(
        `${paths[i]!}: no cell ran in it, so there is nothing to compare`,
        'compare reports of runs that ran: check the matrix that night was given',
      );
  const names = {
    baseline: `${paths[0]} (${describeNight([...baseline.values()])})`,
    current: `${paths[1]} (${describeNight([...current.values()])})`,
  };
  const r = findRegressions(baseline, current, opts.timeThreshold);
  let text = renderRegressionsText(r);
  if (baseline.size === 1 && current.size === 1) {
    const [b, a] = [[...baseline.values()][0] as Verdict, [...current.values()][0] as Verdict];
    text = `${renderComparison(compareVerdicts(b, a))}\n${text}`;
  }
  if (opts.markdownFile) await appendFile(opts.markdownFile, renderRegressionsMarkdown(r, names));
  if (opts.htmlFile)
    await writeWhole(
      opts.htmlFile,
      renderHtml({
        title: `numacage compare ${basename(paths[0]!)} ${basename(paths[1]!)}`,
        generatedAt: new Date().toISOString(),
        runs: [...current].map(([cell, verdict]) => ({ cell, verdict })),
        comparison: { regressions: r, names },
      }),
    );
  return { text, regressed: regressed(r) };
}
