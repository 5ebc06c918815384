import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { withDir } from 'tmp-promise';
import { projectPath } from '../../src/adapters/project.js';
import { openInChromium } from '../helpers/browser.js';
import { numacage } from '../helpers/cli.js';

// A simulated night: the matrix of test/fixtures/nightly/record-baseline.sh (two topologies x the stock kernel and
// the lean kernel with the mbind-warn series), now with all four patches: patch 3's WARN_ON_ONCE fires under the
// reproducer on the built cells. Two shards as a CI engine would run them, merged, compared with last night's report.
const series = projectPath('test/fixtures/series/mbind-warn');
const baseline = projectPath('test/fixtures/nightly/baseline.report.json');
const CELLS = ['private-virtio/stock', 'private-virtio/built', 'three-node/stock', 'three-node/built'];

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

test.serial(
  'a night in two shards, merged, compared with last night: the newly failing step and the new crash signature, exit 1',
  async (t) => {
    await withDir(
      async ({ path: tmp }) => {
        await execa('gcc', ['-static', '-O2', '-o', join(tmp, 'repro'), join(series, 'repro.c')]);
        const shard = async (n: number) => {
          const started = Date.now();
          const r = await numacage([
            'run',
            '--topology',
            'private-virtio,three-node',
            '--kernel',
            'stock,built',
            '--patches',
            join(series, 'series.mbox'),
            '--suite',
            'smoke',
            '--upload',
            `${join(tmp, 'repro')}:/root/repro`,
            '--exec',
            '/root/repro',
            '--shard',
            `${n}/2`,
            '--out',
            join(tmp, 'shards', String(n)),
          ]);
          t.log(`shard ${n}/2: ${seconds(started)}`);
          return r;
        };
        // Kernel first: shard 1 holds the stock cells (they hold), shard 2 the series' (the warning fails them).
        const one = await shard(1);
        t.is(one.exitCode, 0, one.all);
        t.regex(one.stdout, /OK: shard 1\/2: 2 of 4 cells/);
        const two = await shard(2);
        t.is(two.exitCode, 1, two.all);
        t.regex(two.stdout, /FAILED: shard 2\/2: 2 of 4 cells/);

        const partial = await numacage(['merge', join(tmp, 'shards', '1'), '--out', join(tmp, 'partial')]);
        t.is(partial.exitCode, 2, partial.all);
        t.regex(
          partial.stderr,
          /2 of 4 cells have no run: private-virtio\/built, three-node\/built \(shards given: 1\/2\)/,
        );
        t.throws(() => readdirSync(join(tmp, 'partial')), undefined, 'a refused merge leaves nothing behind');

        // A shard that died (exit 3, or killed) leaves its matrix directory without matrix.json: not mistaken for lone runs.
        mkdirSync(join(tmp, 'dead', '20261127-000000-matrix-shard2of2', '20261127-000000-three-node-0000'), {
          recursive: true,
        });
        const dead = await numacage([
          'merge',
          join(tmp, 'shards', '1'),
          join(tmp, 'dead'),
          '--out',
          join(tmp, 'partial'),
        ]);
        t.is(dead.exitCode, 2, dead.all);
        t.regex(dead.stderr, /matrix-shard2of2 has no matrix\.json: that run stopped before it finished/);

        let started = Date.now();
        const merge = await numacage([
          'merge',
          join(tmp, 'shards', '1'),
          join(tmp, 'shards', '2'),
          '--out',
          join(tmp, 'merged'),
        ]);
        t.log(`merge: ${seconds(started)}`);
        t.is(merge.exitCode, 1, merge.all);
        const merged = JSON.parse(readFileSync(join(tmp, 'merged', 'report.json'), 'utf8'));
        t.deepEqual(merged.cells, CELLS);
        t.deepEqual(
          merged.runs.map((r: { cell: string; ok: boolean }) => [r.cell, r.ok]),
          CELLS.map((c) => [c, c.endsWith('stock')]),
        );
        t.is(readFileSync(join(tmp, 'merged', 'junit.xml'), 'utf8').match(/<testsuite /g)?.length, 4);
        t.regex(
          readFileSync(join(tmp, 'merged', 'results.ktap'), 'utf8'),
          /^KTAP version 1\n1\.\.4\n[\s\S]*not ok 4 three-node\/built\n$/,
        );
        for (const r of merged.runs)
          t.truthy(
            readFileSync(join(tmp, 'merged', r.runDir, 'console.log'), 'utf8'),
            `${r.cell}: its run dir is inside the merge`,
          );
        t.deepEqual(readdirSync(join(tmp, 'merged', 'runs')).sort(), [
          'private-virtio_built',
          'private-virtio_stock',
          'three-node_built',
          'three-node_stock',
        ]);

        started = Date.now();
        const md = join(tmp, 'summary.md');
        const cmp = await numacage([
          'compare',
          baseline,
          join(tmp, 'merged'),
          '--markdown',
          md,
          '--time-threshold',
          '1000',
        ]);
        t.log(`compare: ${seconds(started)}`);
        t.is(cmp.exitCode, 1, cmp.all);
        for (const cell of ['private-virtio/built', 'three-node/built']) {
          t.regex(cmp.stdout, new RegExp(`newly failing +${cell} +exec-1: pass -> fail`));
          t.regex(cmp.stdout, new RegExp(`new crash +${cell} +warning: do_mbind < __x64_sys_mbind +during exec-1`));
        }
        t.notRegex(cmp.stdout, /stock/, 'the stock cells did not change');
        const summary = readFileSync(md, 'utf8');
        t.regex(summary, /## numacage: 4 regressions since the baseline/);
        t.regex(summary, /\| private-virtio\/built \| \*\*exec-1\*\* \| pass \| fail \|/);
        t.regex(summary, /\| three-node\/built \| `warning: do_mbind[^`]*` \| exec-1 \|/);

        const { page, errors, close } = await openInChromium(join(tmp, 'merged', 'report.html'));
        try {
          const heads = await page.$$eval('[data-testid=matrix] th[data-cell]', (ths) =>
            ths.map((th) => th.textContent),
          );
          t.deepEqual(heads, CELLS);
          const exec = await page.$$eval('[data-testid=matrix] td[data-check="exec-1"]', (tds) =>
            tds.map((td) => td.textContent),
          );
          t.deepEqual(exec, ['pass', 'fail', 'pass', 'fail']);
          t.is(
            await page.$$eval('svg[data-testid=topology-svg]', (s) => s.length),
            2,
            'private-virtio and three-node drawn',
          );
          t.regex(
            await page.$eval('[data-testid=topology]', (s) => s.textContent ?? ''),
            /MAP_SHARED[\s\S]*MAP_PRIVATE|MAP_PRIVATE[\s\S]*MAP_SHARED/,
          );
          t.deepEqual(await page.$$eval('[data-testid=crash]', (cs) => cs.map((c) => c.getAttribute('data-cell'))), [
            'private-virtio/built',
            'three-node/built',
          ]);
          const bars = await page.$$eval('svg[data-testid=timing-chart] rect', (rs) =>
            rs.map((r) => r.getBoundingClientRect().width),
          );
          t.true(bars.length >= 4 && bars.some((w) => w > 0));
          t.deepEqual(errors, []);
        } finally {
          await close();
        }
      },
      { unsafeCleanup: true },
    );
  },
);

// A night where the series stopped working: the recorded private-node run, every pass turned into the lean
// kernel's xfail (constructed from test/fixtures/runs/lean-vs-private-node, nothing else changed).
test.serial('compare: a night where only pass became xfail exits 1 and names each such check', async (t) => {
  await withDir(
    async ({ path: tmp }) => {
      const night = JSON.parse(
        readFileSync(projectPath('test/fixtures/runs/lean-vs-private-node/built-private-node.report.json'), 'utf8'),
      );
      const passed = night.checks
        .filter((c: { outcome: string }) => c.outcome === 'pass')
        .map((c: { id: string }) => c.id);
      const lapsed = {
        ...night,
        checks: night.checks.map((c: { outcome: string }) => (c.outcome === 'pass' ? { ...c, outcome: 'xfail' } : c)),
      };
      for (const [name, report] of [
        ['before', night],
        ['after', lapsed],
      ] as const) {
        mkdirSync(join(tmp, name));
        writeFileSync(join(tmp, name, 'report.json'), JSON.stringify(report));
      }
      const r = await numacage(['compare', join(tmp, 'before'), join(tmp, 'after')]);
      t.is(r.exitCode, 1, r.all);
      for (const id of passed) t.regex(r.stdout, new RegExp(`weakened +\\S+ +${id}: pass -> xfail`), id);
      t.true(passed.length >= 10, `${passed.length} passes`);
    },
    { unsafeCleanup: true },
  );
});
