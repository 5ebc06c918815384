import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { InfraError } from '../model/errors.js';
import { verdictHolds } from '../model/verdict.js';
import { renderMatrix } from '../report/matrix.js';
import { resolveTopology } from './resolve.js';
import { executeRun, prepareRun, runPipeline, timeStamp, type KernelChoice, type PreparedRun, type RunOptions, type RunOutcome } from './run.js';

export interface MatrixOptions extends Omit<RunOptions, 'topology' | 'kernel'> {
  topologies: string[];
  kernels: KernelChoice[];
  /** Guests per (topology, kernel) pair. */
  guests: number;
  /** Guests at once; default: as many as the CPUs and memory allow. */
  jobs?: number;
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
    throw new InfraError(`one guest needs ${(sorted[0]! / 1024).toFixed(1)} GiB, the host has ${(availableMiB / 1024).toFixed(1)} GiB available`, 'free memory or use a smaller topology');
  return n;
}

/** Runs every (topology, kernel) pair, `guests` times each, several guests at once, and renders them side by side. */
export async function runMatrix(opts: MatrixOptions): Promise<{ outcomes: RunOutcome[]; text: string; ok: boolean }> {
  const combos = opts.topologies.flatMap((topology) => opts.kernels.flatMap((kernel) => Array.from({ length: opts.guests }, () => ({ ...opts, topology, kernel }))));
  if (combos.length === 1) {
    const outcome = await runPipeline(combos[0]!);
    return { outcomes: [outcome], text: outcome.text, ok: verdictHolds(outcome.verdict) };
  }
  const needs: number[] = [];
  for (const c of combos) needs.push((await resolveTopology(c.topology)).memoryMiB + QEMU_OVERHEAD_MIB);
  const jobs = parallelism(needs, await memAvailableMiB(), cpus().length, opts.jobs);
  const matrixDir = resolve(opts.outDir, `${timeStamp()}-matrix`);
  await mkdir(matrixDir, { recursive: true });
  // Images and kernels are built one at a time, before any guest starts.
  const prepared: [PreparedRun, RunOptions][] = [];
  for (const c of combos) {
    const runOpts = { ...c, outDir: matrixDir };
    prepared.push([await prepareRun(runOpts), runOpts]);
  }
  opts.log.info({ guests: prepared.length, jobs }, 'running guests in parallel');
  const outcomes: RunOutcome[] = new Array(prepared.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      while (next < prepared.length) {
        const i = next++;
        const [p, o] = prepared[i]!;
        outcomes[i] = await executeRun(p, o);
      }
    }),
  );
  const table = renderMatrix(outcomes.map((o) => o.verdict));
  const ok = outcomes.every((o) => verdictHolds(o.verdict));
  await writeFile(join(matrixDir, 'matrix.txt'), table);
  await writeFile(join(matrixDir, 'matrix.json'), JSON.stringify({ ok, runs: outcomes.map((o) => ({ runDir: o.runDir, ok: verdictHolds(o.verdict), verdict: o.verdict })) }, null, 2) + '\n');
  const text = `${outcomes.map((o) => o.text).join('\n')}\n${table}${ok ? 'OK' : 'FAILED'}: ${outcomes.length} guests, ${jobs} at a time; ${matrixDir}\n`;
  return { outcomes, text, ok };
}
