import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../adapters/json-file.js';
import { ConfigError } from '../model/errors.js';
import type { Verdict } from '../model/verdict.js';
import { compareVerdicts, renderComparison } from '../report/compare.js';
import { kernelLabel } from '../report/matrix.js';

/** A run's verdict from its report.json, or from the run directory that holds it. */
function loadVerdict(path: string): Verdict {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'report.json') : path;
  if (!existsSync(file)) throw new ConfigError(`${path}: no report.json there`, 'name a run directory, its report.json, or with --by kernel a matrix directory');
  return readJsonFile(file, 'run report') as Verdict;
}

/** The runs of a matrix directory (matrix.json), in the order they ran. */
function loadMatrix(dir: string): Verdict[] {
  const file = join(dir, 'matrix.json');
  if (!existsSync(file)) throw new ConfigError(`${dir}: no matrix.json there`, '--by kernel compares the cells of one matrix directory from `numacage run --kernel A,B`');
  return (readJsonFile(file, 'matrix') as { runs: { verdict: Verdict }[] }).runs.map((r) => r.verdict);
}


/**
 * `numacage compare A B`: two runs side by side per check. With `--by
 * kernel` and one matrix directory: for each topology, the first kernel of
 * the matrix against each other one.
 */
export function compareCommand(paths: string[], by?: 'kernel'): string {
  if (by === 'kernel') {
    if (paths.length !== 1) throw new ConfigError('compare --by kernel takes one matrix directory');
    const runs = loadMatrix(paths[0]!);
    const out: string[] = [];
    for (const topology of [...new Set(runs.map((r) => r.topology))]) {
      const cells = runs.filter((r) => r.topology === topology);
      for (const other of cells.slice(1).filter((c) => kernelLabel(c) !== kernelLabel(cells[0]!)))
        out.push(renderComparison(compareVerdicts(cells[0]!, other)));
    }
    if (!out.length) throw new ConfigError(`${paths[0]}: the matrix has no two kernels on one topology`);
    return out.join('\n');
  }
  if (paths.length !== 2) throw new ConfigError('compare takes two runs (directories or report.json files)', 'numacage compare RUN_A RUN_B, or numacage compare MATRIX_DIR --by kernel');
  return renderComparison(compareVerdicts(loadVerdict(paths[0]!), loadVerdict(paths[1]!)));
}
