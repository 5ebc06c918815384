/**
 * How merge and compare scale with the matrix, against reading the same
 * reports alone (the floor: JSON.parse of every shard), in one run.
 *
 *   node dist/bench/merge.js [--cells 4,64,256] [--shards 2]
 *
 * The cells are the recorded private-node run (test/fixtures/runs/) under
 * made-up topology names: real report sizes, as many as asked, each with a
 * run directory for merge to copy.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withDir } from 'tmp-promise';
import { projectPath } from '../src/adapters/project.js';
import { compareCommand } from '../src/matrix/compare.js';
import { mergeCommand } from '../src/matrix/merge.js';
import { loadReport } from '../src/matrix/reports.js';
import type { Verdict } from '../src/model/verdict.js';
import type { MatrixReport } from '../src/report/matrix-report.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const sizes = flag('cells', '4,64,256').split(',').map(Number);
const shards = Number(flag('shards', '2'));

const recorded = JSON.parse(
  await readFile(projectPath('test/fixtures/runs/lean-vs-private-node/built-private-node.report.json'), 'utf8'),
) as Verdict;

const ms = async (fn: () => Promise<unknown>) => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
};

console.log('cells  shards  read (floor)  merge     compare   merge/read');
for (const n of sizes) {
  await withDir(
    async ({ path }) => {
      const cells = Array.from({ length: n }, (_, i) => `topology-${i}/built`);
      const files: string[] = [];
      for (let s = 0; s < shards; s++) {
        const dir = join(path, `shard-${s + 1}`);
        await mkdir(dir, { recursive: true });
        const mine = cells.filter((_, i) => i % shards === s);
        // Each cell's run dir as a run leaves it (merge copies them): a 64 KiB console.log and the reports.
        for (const cell of mine) {
          const runDir = join(dir, cell.replace('/', '_'));
          await mkdir(runDir);
          await writeFile(join(runDir, 'console.log'), 'x'.repeat(64 * 1024));
          await writeFile(join(runDir, 'report.json'), JSON.stringify(recorded));
        }
        const report: MatrixReport = {
          kind: 'numacage-matrix',
          ok: true,
          cells,
          shard: { index: s + 1, count: shards },
          runs: mine.map((cell) => ({
            cell,
            runDir: cell.replace('/', '_'),
            ok: true,
            verdict: { ...recorded, cell, topology: cell.split('/')[0]! },
          })),
        };
        files.push(join(dir, 'matrix.json'));
        await writeFile(files.at(-1)!, JSON.stringify(report));
      }
      const read = await ms(async () => files.map((f) => loadReport(f, { forMerge: true })));
      const merge = await ms(() =>
        mergeCommand(
          files.map((f) => join(f, '..')),
          join(path, 'merged'),
          path,
        ),
      );
      const compare = await ms(() => compareCommand([join(path, 'merged'), join(path, 'merged')]));
      console.log(
        `${String(n).padStart(5)}  ${String(shards).padStart(6)}  ${read.toFixed(1).padStart(9)} ms  ${merge.toFixed(1).padStart(6)} ms  ${compare.toFixed(1).padStart(6)} ms  ${(merge / read).toFixed(1).padStart(8)}x`,
      );
    },
    { unsafeCleanup: true },
  );
}
