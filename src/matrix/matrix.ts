import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, relative, resolve } from 'node:path';
import { InfraError } from '../model/errors.js';
import type { Topology } from '../model/topology.js';
import { asExpected, verdictHolds, type Verdict } from '../model/verdict.js';

import type { MatrixReport } from '../report/matrix-report.js';
import { onInterrupt } from '../adapters/cleanup.js';
import { writeReportFiles } from '../adapters/report-files.js';
import { attachFeed, wantsTaskList } from '../log.js';
import { TerminalProgress } from './progress.js';
import { matrixCells, shardCells, type Shard } from './cells.js';
import {
  describeNight,
  findRegressions,
  regressed,
  renderRegressionsMarkdown,
  renderRegressionsText,
  type TimeThreshold,
} from '../report/regressions.js';
import { cellVerdicts, loadReport } from './reports.js';
import { resolveTopology } from '../run/resolve.js';
import { checkInputs } from '../run/preflight.js';
import {
  choiceLabel,
  executeRun,
  prepareRun,
  runPipeline,
  timeStamp,
  type KernelChoice,
  type PreparedRun,
  type RunOptions,
  type RunOutcome,
} from '../run/run.js';

export interface MatrixOptions extends Omit<RunOptions, 'topology' | 'kernel'> {
  topologies: string[];
  kernels: KernelChoice[];
  /** Guests per (topology, kernel) pair. */
  guests: number;
  /** Guests at once; default: as many as the CPUs and memory allow. */
  jobs?: number;
  /** --shard I/N: run only this slice of the cells. */
  shard?: Shard;
  /** --baseline: a report to find regressions against once the cells have run (--markdown: where the summary is appended). */
  baseline?: { path: string; threshold: TimeThreshold; markdownFile?: string };
}

/** Memory a guest needs on the host beyond its RAM: QEMU itself, TCG's translation cache. */
const QEMU_OVERHEAD_MIB = 384;

async function memAvailableMiB(): Promise<number> {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(await readFile('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** How many of these guests may run at once: the asked number if it fits in memory, else the most that fits. */
export function parallelism(needsMiB: number[], availableMiB: number, maxJobs: number, asked?: number): number {
  const sorted = [...needsMiB].sort((a, b) => b - a);
  const fits = (n: number) => sorted.slice(0, n).reduce((s, x) => s + x, 0) <= availableMiB;
  if (asked !== undefined) {
    if (!fits(asked))
      throw new InfraError(
        `--jobs ${asked}: ${asked} guests at once need up to ${(sorted.slice(0, asked).reduce((s, x) => s + x, 0) / 1024).toFixed(1)} GiB, the host has ${(availableMiB / 1024).toFixed(1)} GiB available`,
        'lower --jobs, or use smaller topologies',
      );
    return asked;
  }
  let n = Math.min(maxJobs, sorted.length);
  while (n > 1 && !fits(n)) n--;
  if (!fits(1))
    throw new InfraError(
      `one guest needs ${(sorted[0]! / 1024).toFixed(1)} GiB, the host has ${(availableMiB / 1024).toFixed(1)} GiB available`,
      'free memory or use a smaller topology',
    );
  return n;
}

/**
 * The matrix's cells (topology names resolved, so a topology file goes by
 * its name), this shard's, and each topology by its argument.
 */
async function planCells(opts: Pick<MatrixOptions, 'topologies' | 'kernels' | 'guests' | 'shard'>) {
  const topologies = new Map<string, Topology>();
  for (const t of opts.topologies) topologies.set(t, await resolveTopology(t));
  const names = opts.topologies.map((t) => topologies.get(t)!.name);
  const argOf = new Map(names.map((name, i) => [name, opts.topologies[i]!]));
  const all = matrixCells(names, opts.kernels, choiceLabel, opts.guests).map((c) => ({
    ...c,
    topology: argOf.get(c.topology)!,
  }));
  return { all, mine: opts.shard ? shardCells(all, opts.shard, choiceLabel) : all, topologies };
}

export interface MatrixResult {
  outcomes: RunOutcome[];
  text: string;
  ok: boolean;
  regressed: boolean;
  dir: string;
}

/**
 * Runs every cell of the matrix (or of one --shard), several guests at once,
 * and writes the matrix directory: matrix.json, junit.xml, results.ktap,
 * matrix.txt, report.html, one run directory per cell. One cell and no shard
 * is a plain run directory.
 */
export async function runMatrix(opts: MatrixOptions): Promise<MatrixResult> {
  await checkInputs({
    cacheDir: opts.cacheDir,
    log: opts.log,
    topologies: opts.topologies,
    image: opts.image,
    builtKernels: opts.kernels.flatMap((k) => (k.kind === 'built' ? [k] : [])),
    stockKernel: opts.kernels.some((k) => k.kind === 'stock'),
    kselftests: opts.steps?.kselftests,
    uploads: opts.steps?.uploads,
  });
  // A baseline that cannot be read fails now, not after an hour of guests.
  const baseline = opts.baseline && cellVerdicts(loadReport(opts.baseline.path));
  const cells = await planCells(opts);
  const { mine } = cells;
  const progress = wantsTaskList(opts.log) ? new TerminalProgress(mine.map((c) => c.id)) : undefined;
  const detach = progress ? attachFeed(progress) : () => undefined;
  // On SIGINT the terminal is given back (cursor shown, held lines printed) before the cleanups' messages.
  const unregister = progress ? onInterrupt(() => progress.stop()) : () => undefined;
  try {
    return await runCells(opts, cells, baseline, progress);
  } finally {
    unregister();
    detach();
    await progress?.stop();
  }
}

async function runCells(
  opts: MatrixOptions,
  cells: Awaited<ReturnType<typeof planCells>>,
  baseline: Map<string, Verdict> | undefined,
  progress?: TerminalProgress,
): Promise<MatrixResult> {
  const { all, mine, topologies } = cells;
  const combos = mine.map((c) => ({
    ...opts,
    topology: c.topology,
    kernel: c.kernel,
    cell: c.id,
    log: opts.log.child({ cell: c.id }),
  }));
  const finished = (o: RunOutcome) => {
    progress?.finish(o.verdict.cell!, verdictHolds(o.verdict), finishLine(o.verdict));
    return o;
  };
  const compared = async (runs: { cell: string; verdict: Verdict }[]) => {
    if (!baseline || !opts.baseline) return undefined;
    const current = new Map(runs.map((x) => [x.cell, x.verdict]));
    const r = findRegressions(baseline, current, opts.baseline.threshold, new Set(mine.map((c) => c.id)));
    const names = {
      baseline: `${opts.baseline.path} (${describeNight([...baseline.values()])})`,
      current: `this run (${describeNight([...current.values()])})`,
    };
    if (opts.baseline.markdownFile) await appendFile(opts.baseline.markdownFile, renderRegressionsMarkdown(r, names));
    return { regressed: regressed(r), text: renderRegressionsText(r), comparison: { regressions: r, names } };
  };
  if (combos.length === 1 && !opts.shard) {
    const outcome = finished(await runPipeline(combos[0]!));
    const runs = [{ cell: combos[0]!.cell, verdict: outcome.verdict, runDir: '.' }];
    const cmp = await compared(runs);
    if (cmp)
      await writeReportFiles(outcome.runDir, {
        kind: 'run',
        title: `numacage ${basename(outcome.runDir)}`,
        verdict: outcome.verdict,
        runDir: outcome.runDir,
        comparison: cmp.comparison,
      });
    return {
      outcomes: [outcome],
      text: outcome.text + (cmp?.text ?? ''),
      ok: verdictHolds(outcome.verdict),
      regressed: cmp?.regressed ?? false,
      dir: outcome.runDir,
    };
  }
  const needs = combos.map((c) => topologies.get(c.topology)!.memoryMiB + QEMU_OVERHEAD_MIB);
  const jobs = combos.length ? parallelism(needs, await memAvailableMiB(), cpus().length, opts.jobs) : 0;
  const matrixDir = resolve(
    opts.outDir,
    `${timeStamp()}-matrix${opts.shard ? `-shard${opts.shard.index}of${opts.shard.count}` : ''}`,
  );
  await mkdir(matrixDir, { recursive: true });
  // Images and kernels are built one at a time, before any guest starts.
  const prepared: [PreparedRun, RunOptions][] = [];
  for (const c of combos) {
    const runOpts = { ...c, outDir: matrixDir };
    prepared.push([await prepareRun(runOpts), runOpts]);
  }
  opts.log.info(
    {
      guests: prepared.length,
      jobs,
      ...(opts.shard ? { shard: `${opts.shard.index}/${opts.shard.count}`, cells: all.length } : {}),
    },
    'running guests in parallel',
  );
  const outcomes: (RunOutcome | undefined)[] = new Array(prepared.length);
  let next = 0;
  // Host trouble in one cell starts no more guests; those running finish, the report says what ran, then it is raised.
  let trouble: unknown;
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      while (next < prepared.length && trouble === undefined) {
        const i = next++;
        const [p, o] = prepared[i]!;
        try {
          outcomes[i] = finished(await executeRun(p, o));
        } catch (err) {
          trouble ??= err;
        }
      }
    }),
  );
  const ran = outcomes.flatMap((o, i) => (o ? [{ o, cell: combos[i]!.cell }] : []));
  const report: MatrixReport = {
    kind: 'numacage-matrix',
    ok: trouble === undefined && ran.every(({ o }) => verdictHolds(o.verdict)),
    cells: all.map((c) => c.id),
    ...(opts.shard ? { shard: opts.shard } : {}),
    runs: ran.map(({ o, cell }) => ({
      cell,
      runDir: relative(matrixDir, o.runDir),
      ok: verdictHolds(o.verdict),
      verdict: o.verdict,
    })),
  };
  const cmp = trouble === undefined ? await compared(report.runs) : undefined;
  const written = await writeReportFiles(matrixDir, {
    kind: 'matrix',
    title: `numacage ${basename(matrixDir)}`,
    report,
    ...(cmp ? { comparison: cmp.comparison } : {}),
  });
  const table = written.get('matrix.txt')!;
  if (trouble !== undefined) throw trouble;
  const what = opts.shard
    ? `shard ${opts.shard.index}/${opts.shard.count}: ${ran.length} of ${all.length} cells`
    : `${ran.length} guests`;
  const text = `${ran.map(({ o }) => o.text).join('\n')}\n${table}${cmp?.text ?? ''}${report.ok ? 'OK' : 'FAILED'}: ${what}, ${jobs} at a time; ${matrixDir}\n`;
  return { outcomes: ran.map(({ o }) => o), text, ok: report.ok, regressed: cmp?.regressed ?? false, dir: matrixDir };
}

/** A cell's line in the task list once it is done. */
function finishLine(v: Verdict): string {
  if (v.bootFailure) return `FAILED: the guest did not come up (${v.bootFailure.reason})`;
  const held = v.checks.filter((c) => asExpected(c.outcome)).length;
  const reports = v.crashes.length ? `, ${v.crashes.length} kernel report(s)` : '';
  return `${verdictHolds(v) ? 'OK' : 'FAILED'}: ${held}/${v.checks.length} checks as expected${reports}, ${v.timings.total?.toFixed(1) ?? '?'} s`;
}
