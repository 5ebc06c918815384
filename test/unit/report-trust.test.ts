import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadReport } from '../../src/matrix/reports.js';
import { ConfigError } from '../../src/model/errors.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { fixture } from '../helpers/fixtures.js';

// A report from a CI artifact is input from elsewhere: merge copies every run directory a matrix.json
// names into its own artifact, so a run directory outside the report's directory is refused.
const verdict = JSON.parse(fixture('runs/lean-vs-private-node/built.report.json'));

function matrixWith(runDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'numacage-trust-'));
  mkdirSync(join(dir, 'cell'));
  mkdirSync(join(dir, 'elsewhere'));
  symlinkSync(join(dir, 'elsewhere'), join(dir, 'link'));
  writeFileSync(
    join(dir, 'matrix.json'),
    JSON.stringify({
      kind: 'numacage-matrix',
      ok: true,
      cells: ['c'],
      runs: [{ cell: 'c', runDir, ok: true, verdict }],
    }),
  );
  return dir;
}

test('a matrix.json naming a run directory outside its own directory, or through a link, is refused with the JSON path', (t) => {
  for (const runDir of ['/etc', '../x', '..', '.', 'cell/../../x', 'link', 'link/inner']) {
    const dir = matrixWith(runDir);
    const err = t.throws(() => loadReport(dir, { forMerge: true }), { instanceOf: ConfigError }, runDir);
    t.notThrows(() => loadReport(dir), 'compare reads only the verdicts');
    t.regex(err!.message, /matrix\.json: runs\[0\]\.runDir /, runDir);
    rmSync(dir, { recursive: true });
  }
  const good = matrixWith('cell');
  t.is(loadReport(good, { forMerge: true }).runs[0]!.runDir, join(good, 'cell'));
  rmSync(good, { recursive: true });
});

/** Every string in a report replaced by markup that would run if written unescaped, and the topology's ids and distances too (what a tampered report.json can hold). */
function poisoned<T>(v: T): T {
  const evil = '<script>alert(1)</script><img src=x onerror=alert(1)>';
  const walk = (x: unknown): unknown =>
    typeof x === 'string'
      ? `${x}${evil}`
      : Array.isArray(x)
        ? x.map(walk)
        : x && typeof x === 'object'
          ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]))
          : x;
  const p = walk(v) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a tampered report has any shape
  if (p.topologySpec) {
    p.topologySpec.nodes = p.topologySpec.nodes.map((n: object) => ({ ...n, id: evil }));
    p.topologySpec.distances = p.topologySpec.distances.map((d: object) => ({ ...d, value: evil }));
  }
  return p as T;
}

test('a report whose strings, node ids and distances hold markup renders inert in the HTML report', async (t) => {
  const { renderHtml } = await import('../../src/report/html.js');
  // Recorded before reports held their topology: given the one it ran on, so that the drawing and the distance table are rendered.
  const bad = poisoned({ ...verdict, topologySpec: builtinTopology('private-virtio') });
  const html = renderHtml({
    title: 'numacage <script>x</script>',
    generatedAt: 'now',
    runs: [{ cell: bad.cell ?? 'c', verdict: bad }],
  });
  t.false(
    /<script|<img/i.test(html.replace(/<script type="application\/json"[\s\S]*?<\/script>/g, '')),
    'no element from the report',
  );
  t.true(html.includes('&lt;script&gt;'), 'the text is there, escaped');
});

test('a report in which no cell ran merges and compares to nothing green: exit 2 saying so', async (t) => {
  const { mergeCommand } = await import('../../src/matrix/merge.js');
  const { compareCommand } = await import('../../src/matrix/compare.js');
  const empty = mkdtempSync(join(tmpdir(), 'numacage-trust-'));
  const ran = matrixWith('cell');
  writeFileSync(join(empty, 'matrix.json'), JSON.stringify({ kind: 'numacage-matrix', ok: true, cells: [], runs: [] }));
  try {
    const merged = await mergeCommand([empty, empty], join(empty, 'merged'), empty).catch((e: unknown) => e);
    t.true(merged instanceof ConfigError, String(merged));
    t.regex((merged as Error).message, /no cell ran in any of these 2 reports/);
    for (const pair of [
      [empty, ran],
      [ran, empty],
    ]) {
      const compared = await compareCommand(pair).catch((e: unknown) => e);
      t.true(compared instanceof ConfigError, String(compared));
      t.regex((compared as Error).message, /no cell ran in it, so there is nothing to compare/);
    }
    t.false((await compareCommand([ran, ran])).regressed, 'a report that ran still compares');
  } finally {
    rmSync(empty, { recursive: true, force: true });
    rmSync(ran, { recursive: true, force: true });
  }
});
