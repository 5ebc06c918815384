import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readJsonFile } from '../adapters/json-file.js';
import { ConfigError } from '../model/errors.js';
import { verdictHolds, type Verdict } from '../model/verdict.js';
import type { MatrixReport, MatrixRun } from '../report/matrix-report.js';
import { kernelLabel } from '../report/matrix.js';

/** The runs of one report file, their run directories made absolute. */
export interface LoadedReport {
  file: string;
  /** Every cell of the matrix it belongs to (a lone run: its own). */
  cells: string[];
  shard?: { index: number; count: number };
  runs: MatrixRun[];
}

/** A run's cell; reports from before cells were recorded go by topology/kernel. */
export const cellOf = (v: Verdict): string => v.cell ?? `${v.topology}/${kernelLabel(v)}`;

const REPORT_NAMES = ['report.json', 'matrix.json'];

/** The report file a path names: the file itself, or a directory's report.json or matrix.json. */
function reportFile(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if (!statSync(path).isDirectory()) return path;
  return REPORT_NAMES.map((n) => join(path, n)).find((f) => existsSync(f));
}

function isMatrix(data: unknown): data is MatrixReport {
  return typeof data === 'object' && data !== null && Array.isArray((data as MatrixReport).runs);
}

function isVerdict(data: unknown): data is Verdict {
  return typeof data === 'object' && data !== null && typeof (data as Verdict).runId === 'string' && Array.isArray((data as Verdict).checks);
}

/** A run's report.json, a matrix.json, or a merged report.json, or a directory holding one. */
export function loadReport(path: string): LoadedReport {
  const file = reportFile(path);
  if (!file) throw new ConfigError(`${path}: no report.json or matrix.json there`, 'name a run, matrix or merged directory, or its report.json / matrix.json');
  const data = readJsonFile(file, 'numacage report');
  const here = dirname(resolve(file));
  if (isMatrix(data)) {
    const runs = data.runs.map((r) => ({ ...r, cell: r.cell ?? cellOf(r.verdict), runDir: resolve(here, r.runDir) }));
    // matrix.json from before cells were recorded lists only its runs.
    return { file, cells: data.cells ?? runs.map((r) => r.cell), ...(data.shard ? { shard: data.shard } : {}), runs };
  }
  if (isVerdict(data)) {
    const cell = cellOf(data);
    return { file, cells: [cell], runs: [{ cell, runDir: here, ok: verdictHolds(data), verdict: data }] };
  }
  throw new ConfigError(`${file}: not a numacage report (neither a run's verdict nor a matrix)`, 'name the report.json of a run or a merge, or a matrix.json');
}

/**
 * The reports under dir for a merge: dir's own, else those of its
 * subdirectories up to two levels down (a downloaded artifact holds a
 * matrix directory), a matrix's own run directories left out.
 */
export function findReports(dir: string, depth = 2): string[] {
  const own = reportFile(dir);
  if (own) return [own];
  if (depth === 0 || !existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name))
    .filter((p) => statSync(p).isDirectory())
    .flatMap((p) => findReports(p, depth - 1));
}

/** A report's verdicts by cell. */
export const cellVerdicts = (r: LoadedReport): Map<string, Verdict> => new Map(r.runs.map((x) => [x.cell, x.verdict]));
