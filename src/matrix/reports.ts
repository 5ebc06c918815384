import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../adapters/json-file.js';
import { parseOrThrow } from '../schema/parse.js';
import { ConfigError } from '../model/errors.js';
import { verdictHolds, type Verdict } from '../model/verdict.js';
import type { MatrixReport, MatrixRun } from '../report/matrix-report.js';
import { runLabel } from '../report/matrix.js';

/** The runs of one report file, their run directories made absolute. */
export interface LoadedReport {
  file: string;
  /** Every cell of the matrix it belongs to (a lone run: its own). */
  cells: string[];
  shard?: { index: number; count: number };
  runs: MatrixRun[];
}

/** A run's cell; reports from before cells were recorded go by topology/kernel. */
const cellOf = (v: Verdict): string => v.cell ?? runLabel(v);

const REPORT_NAMES = ['report.json', 'matrix.json'];

/** The report file a path names: the file itself, or a directory's report.json or matrix.json. */
function reportFile(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if (!statSync(path).isDirectory()) return path;
  return REPORT_NAMES.map((n) => join(path, n)).find((f) => existsSync(f));
}

/** What numacage reads of a run's report: enough to refuse a file that is not one (exit 2, not a crash). */
const VerdictShape = z.looseObject({
  runId: z.string(),
  topology: z.string(),
  kernel: z.looseObject({ kind: z.string(), release: z.string() }),
  accel: z.looseObject({ accel: z.string() }),
  checks: z.array(z.looseObject({ id: z.string(), outcome: z.string() })),
  crashes: z.array(z.looseObject({ type: z.string(), title: z.string() })),
  timings: z.record(z.string(), z.number()),
});

const MatrixShape = z.looseObject({
  cells: z.array(z.string()).optional(),
  shard: z.object({ index: z.number().int().min(1), count: z.number().int().min(1) }).optional(),
  runs: z.array(
    z.looseObject({
      cell: z.string().optional(),
      runDir: z.string(),
      ok: z.boolean().optional(),
      verdict: VerdictShape,
    }),
  ),
});

/**
 * A run directory a report names, inside the report's own directory: a
 * report from a CI artifact is not trusted to name /etc, ../.. or a path
 * through a symlink (merge copies what it names into its artifact).
 */
function confinedRunDir(here: string, runDir: string, where: string): string {
  const abs = resolve(here, runDir);
  const rel = relative(here, abs);
  if (isAbsolute(runDir) || !rel || rel === '..' || rel.startsWith(`..${sep}`))
    throw new ConfigError(
      `${where} is ${JSON.stringify(runDir)}: a run directory must lie inside the report's own directory`,
      'merge reports as numacage wrote them',
    );
  let inside = here;
  for (const part of rel.split(sep)) {
    inside = join(inside, part);
    if (lstatSync(inside, { throwIfNoEntry: false })?.isSymbolicLink())
      throw new ConfigError(
        `${where} goes through the symbolic link ${inside}`,
        'merge reports as numacage wrote them: no links',
      );
  }
  return abs;
}

/**
 * A run's report.json, a matrix.json, or a merged report.json, or a
 * directory holding one. `forMerge`: its run directories will be copied, so
 * each must lie inside the report's own directory (compare reads only the
 * verdicts the report holds, and takes baselines merged before merge copied
 * run directories, which name ../shards/...).
 */
export function loadReport(path: string, { forMerge = false } = {}): LoadedReport {
  const file = reportFile(path);
  if (!file)
    throw new ConfigError(
      `${path}: no report.json or matrix.json there`,
      'name a run, matrix or merged directory, or its report.json / matrix.json',
    );
  const data = readJsonFile(file, 'numacage report');
  const here = dirname(resolve(file));
  const hint = 'name the report.json of a run or a merge, or a matrix.json, as numacage wrote it';
  if (typeof data === 'object' && data !== null && 'runs' in data) {
    const m = parseOrThrow(MatrixShape, data, `matrix report ${file}`, hint) as unknown as MatrixReport;
    const runs = m.runs.map((r, i) => ({
      ...r,
      cell: r.cell ?? cellOf(r.verdict),
      ok: r.ok ?? verdictHolds(r.verdict),
      runDir: forMerge ? confinedRunDir(here, r.runDir, `${file}: runs[${i}].runDir`) : resolve(here, r.runDir),
    }));
    // matrix.json from before cells were recorded lists only its runs.
    return { file, cells: m.cells ?? runs.map((r) => r.cell), ...(m.shard ? { shard: m.shard } : {}), runs };
  }
  const v = parseOrThrow(VerdictShape, data, `run report ${file}`, hint) as unknown as Verdict;
  const cell = cellOf(v);
  return { file, cells: [cell], runs: [{ cell, runDir: here, ok: verdictHolds(v), verdict: v }] };
}

/**
 * The reports under dir for a merge: dir's own, else those of its
 * subdirectories up to two levels down (a downloaded artifact holds a
 * matrix directory), a matrix's own run directories left out.
 */
export function findReports(dir: string, depth = 2): string[] {
  const own = reportFile(dir);
  if (own) return [own];
  // A matrix directory without its matrix.json: the shard stopped before the end (its cells' reports are not the shard's).
  if (/-matrix(-shard\d+of\d+)?$/.test(dir.replace(/\/+$/, '')))
    throw new ConfigError(
      `${dir} has no matrix.json: that run stopped before it finished`,
      'run the shard again (its exit code says why it stopped), then merge',
    );
  if (depth === 0 || !existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name))
    .filter((p) => statSync(p).isDirectory())
    .flatMap((p) => findReports(p, depth - 1));
}

/** A report's verdicts by cell. */
export const cellVerdicts = (r: LoadedReport): Map<string, Verdict> => new Map(r.runs.map((x) => [x.cell, x.verdict]));
