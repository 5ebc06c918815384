import { existsSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { onInterrupt } from '../adapters/cleanup.js';
import { ConfigError } from '../model/errors.js';
import type { MatrixReport, MatrixRun } from '../report/matrix-report.js';
import { writeReportFiles } from '../adapters/report-files.js';
import { findReports, loadReport, type LoadedReport } from './reports.js';
import { timeStamp } from '../run/run.js';

/**
 * The runs of several shards (or runs) as one matrix, checked: every shard
 * from the same matrix, every cell of it present, none twice. Pure.
 */
export function mergeReports(reports: LoadedReport[]): { cells: string[]; runs: (MatrixRun & { from: string })[] } {
  const shards = reports.filter((r) => r.shard);
  if (shards.length) {
    const lone = reports.find((r) => !r.shard);
    if (lone)
      throw new ConfigError(
        `${lone.file} is not a shard, and ${shards[0]!.file} is`,
        'merge the shards of one night alone (`run --shard I/N` directories)',
      );
    const count = shards[0]!.shard!.count;
    const other = shards.find((r) => r.shard!.count !== count);
    if (other)
      throw new ConfigError(
        `${other.file} is shard ${other.shard!.index}/${other.shard!.count}, ${shards[0]!.file} is one of ${count}`,
        'merge the shards of one night, all run with the same N',
      );
    const seen = new Map<number, string>();
    for (const r of shards) {
      const twice = seen.get(r.shard!.index);
      if (twice)
        throw new ConfigError(
          `shard ${r.shard!.index}/${count} is both ${twice} and ${r.file}`,
          'merge each shard once (a shard run twice: keep one of its directories)',
        );
      seen.set(r.shard!.index, r.file);
    }
  }
  const matrices = reports.filter((r) => r.shard || r.cells.length > 1);
  const cells = matrices[0]?.cells ?? [...new Set(reports.flatMap((r) => r.cells))];
  for (const r of matrices)
    if (r.cells.join('\n') !== cells.join('\n'))
      throw new ConfigError(
        `${r.file} is a shard of another matrix than ${matrices[0]!.file}: its cells are ${r.cells.join(', ')}`,
        'merge the shards of one night, run with the same --topology, --kernel and --guests',
      );
  const byCell = new Map<string, MatrixRun & { from: string }>();
  for (const r of reports)
    for (const run of r.runs) {
      const twice = byCell.get(run.cell);
      if (twice)
        throw new ConfigError(
          `cell ${run.cell} is in both ${twice.from} and ${r.file}`,
          'merge each shard once (a shard run twice: keep one of its directories)',
        );
      if (!cells.includes(run.cell))
        throw new ConfigError(
          `cell ${run.cell} of ${r.file} is not in the matrix (${cells.join(', ')})`,
          'merge the shards of one night',
        );
      byCell.set(run.cell, { ...run, from: r.file });
    }
  const missing = cells.filter((c) => !byCell.has(c));
  if (missing.length) {
    const given = shards.map((r) => `${r.shard!.index}/${r.shard!.count}`);
    throw new ConfigError(
      `${missing.length} of ${cells.length} cells have no run: ${missing.join(', ')}${given.length ? ` (shards given: ${given.join(', ')})` : ''}`,
      "give every shard's directory (a shard that stopped early must run again)",
    );
  }
  return { cells, runs: cells.map((c) => byCell.get(c)!) };
}

/** A cell's directory name in a merge: runs/private-virtio_built_private-node. */
const cellDirName = (cell: string) => cell.replace(/[^A-Za-z0-9._-]/g, '_');

/** The merged report of mergeReports' cells and runs, each run's directory under runs/ by its cell. Pure. */
export function mergedReport({ cells, runs }: ReturnType<typeof mergeReports>): MatrixReport {
  return {
    kind: 'numacage-matrix',
    ok: runs.every((r) => r.ok),
    cells,
    mergedFrom: [...new Set(runs.map((r) => r.from))],
    runs: runs.map(({ from: _from, ...r }) => ({ ...r, runDir: join('runs', cellDirName(r.cell)) })),
  };
}

/**
 * `numacage merge DIR...`: one report of the whole matrix in outDir
 * (report.json, junit.xml, results.ktap, summary.txt, report.html, and each
 * cell's run directory under runs/), written in a staging directory and
 * renamed into place.
 */
export async function mergeCommand(
  dirs: string[],
  outDir: string | undefined,
  runsDir: string,
): Promise<{ text: string; ok: boolean; dir: string }> {
  const files = dirs.flatMap((d) => {
    const found = findReports(d);
    if (!found.length)
      throw new ConfigError(
        `${d}: no matrix.json or report.json in it or up to two levels below`,
        'give the directories `numacage run --shard I/N --out DIR` wrote',
      );
    return found;
  });
  const { cells, runs } = mergeReports(files.map((f) => loadReport(f, { forMerge: true })));
  // An empty CI variable or a night whose shards ran nothing must not merge into a green report.
  if (runs.length === 0)
    throw new ConfigError(
      `${dirs.join(', ')}: no cell ran in ${files.length === 1 ? 'this report' : `any of these ${files.length} reports`}`,
      'merge the shards of a night that ran: check the matrix the shard jobs were given',
    );
  const missing = runs.find((r) => !statSync(r.runDir, { throwIfNoEntry: false })?.isDirectory());
  if (missing)
    throw new ConfigError(
      `${missing.from}: the run directory of ${missing.cell}, ${missing.runDir}, is not there`,
      'merge shard directories whole, as numacage wrote them',
    );
  const dir = resolve(outDir ?? join(runsDir, `${timeStamp()}-merged`));
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length))
    throw new ConfigError(
      `--out ${dir} exists and is not an empty directory`,
      'give a new directory, or remove the old merge first',
    );
  const staging = join(dirname(dir), `.${basename(dir)}.staging-${process.pid}`);
  await mkdir(staging, { recursive: true });
  const unregister = onInterrupt(() => rm(staging, { recursive: true, force: true }));
  const report = mergedReport({ cells, runs });
  try {
    // The merge holds every cell's run directory (a qcow2 kept with --keep aside): one artifact has every console.
    for (const [i, r] of runs.entries())
      await cp(r.runDir, join(staging, report.runs[i]!.runDir), {
        recursive: true,
        filter: (f) => !f.endsWith('.qcow2'),
      });
    const written = await writeReportFiles(staging, { kind: 'merge', title: `numacage ${basename(dir)}`, report });
    const table = written.get('summary.txt')!;
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    return {
      text: `${table}${report.ok ? 'OK' : 'FAILED'}: ${cells.length} cells from ${files.length} report(s); ${dir}\n`,
      ok: report.ok,
      dir,
    };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  } finally {
    unregister();
  }
}
