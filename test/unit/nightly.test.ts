import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { fc, testProp } from '@fast-check/ava';
import { projectPath } from '../../src/adapters/project.js';
import { matrixCells, parseShard, shardCells } from '../../src/matrix/cells.js';
import { mergeReports } from '../../src/matrix/merge.js';
import { cellVerdicts, loadReport, type LoadedReport } from '../../src/matrix/reports.js';
import { ConfigError } from '../../src/model/errors.js';
import {
  findRegressions,
  regressed,
  renderRegressionsMarkdown,
  renderRegressionsText,
} from '../../src/report/regressions.js';

const runs = (...parts: string[]) => projectPath('test', 'fixtures', 'runs', ...parts);
const label = (k: string) => k;

test('cells: topology by topology, kernel by kernel, #guest only when a pair runs several', (t) => {
  t.deepEqual(
    matrixCells(['a', 'b'], ['stock', 'built'], label, 1).map((c) => c.id),
    ['a/stock', 'a/built', 'b/stock', 'b/built'],
  );
  t.deepEqual(
    matrixCells(['a'], ['stock'], label, 2).map((c) => c.id),
    ['a/stock#1', 'a/stock#2'],
  );
  t.throws(() => matrixCells(['a', 'a'], ['stock'], label, 1), {
    instanceOf: ConfigError,
    message: /cell a\/stock twice/,
  });
});

test('--shard: I/N with 1 <= I <= N, else a message naming the value', (t) => {
  t.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
  for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3'])
    t.throws(() => parseShard(bad), {
      instanceOf: ConfigError,
      message: new RegExp(`--shard ${bad.replace(/\//g, '\\/')}`),
    });
  // A CI template's N may outgrow the matrix: the shards past the cells are empty, not an error.
  t.deepEqual(shardCells(matrixCells(['a'], ['stock'], label, 1), { index: 2, count: 2 }, label), []);
});

testProp(
  'shards: every cell in exactly one shard, sizes within one, a kernel kept together where it can be, the same every time',
  [
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 12 }),
  ],
  (t, nTopologies, nKernels, guests, n) => {
    const cells = matrixCells(
      Array.from({ length: nTopologies }, (_, i) => `t${i}`),
      Array.from({ length: nKernels }, (_, i) => `k${i}`),
      label,
      guests,
    );
    const shards = Array.from({ length: n }, (_, i) => shardCells(cells, { index: i + 1, count: n }, label));
    t.deepEqual(
      shards
        .flat()
        .map((c) => c.id)
        .sort(),
      cells.map((c) => c.id).sort(),
    );
    const sizes = shards.map((s) => s.length);
    t.true(Math.max(...sizes) - Math.min(...sizes) <= 1);
    // Kernel-first blocks: a kernel's cells span at most as many shards as they fill, plus one.
    for (let k = 0; k < nKernels; k++) {
      const holding = shards.filter((s) => s.some((c) => c.kernel === `k${k}`)).length;
      t.true(holding <= Math.ceil((nTopologies * guests) / Math.floor(cells.length / n)) + 1);
    }
    t.deepEqual(
      shards,
      Array.from({ length: n }, (_, i) => shardCells(cells, { index: i + 1, count: n }, label)),
    );
  },
);

/** A recorded run's report as one shard of a two-cell matrix. */
function asShard(file: string, cells: string[], index: number): LoadedReport {
  const r = loadReport(runs(file));
  return { ...r, cells, shard: { index, count: cells.length } };
}

const LEAN = 'lean-vs-private-node/built.report.json';
const SERIES = 'lean-vs-private-node/built-private-node.report.json';
const CELLS = ['private-virtio/built', 'private-virtio/built:private-node'];

test('merge: two shards of recorded runs become one matrix in matrix order; a missing or doubled cell is named', (t) => {
  const merged = mergeReports([asShard(SERIES, CELLS, 2), asShard(LEAN, CELLS, 1)]);
  t.deepEqual(
    merged.runs.map((r) => r.cell),
    CELLS,
  );
  t.deepEqual(
    merged.runs.map((r) => r.verdict.checks.find((c) => c.id === 'abi')!.outcome),
    ['xfail', 'pass'],
  );
  t.throws(() => mergeReports([asShard(LEAN, CELLS, 1)]), {
    instanceOf: ConfigError,
    message: /1 of 2 cells have no run: private-virtio\/built:private-node \(shards given: 1\/2\)/,
  });
  t.throws(() => mergeReports([asShard(LEAN, CELLS, 1), asShard(LEAN, CELLS, 1), asShard(SERIES, CELLS, 2)]), {
    message: /shard 1\/2 is both/,
  });
  t.throws(() => mergeReports([loadReport(runs(LEAN)), loadReport(runs(LEAN))]), {
    message: /cell private-virtio\/built is in both/,
  });
  t.throws(
    () =>
      mergeReports([
        asShard(LEAN, CELLS, 1),
        { ...asShard(SERIES, [...CELLS, 'three-node/built'], 2), shard: { index: 2, count: 2 } },
      ]),
    { message: /a shard of another matrix/ },
  );
  t.throws(
    () => mergeReports([asShard(LEAN, CELLS, 1), loadReport(runs(SERIES))]),
    { message: /is not a shard, and .* is/ },
    "a lone run does not fill a shard's gap",
  );
  t.throws(
    () => mergeReports([asShard(LEAN, CELLS, 1), { ...asShard(SERIES, CELLS, 2), shard: { index: 3, count: 3 } }]),
    {
      message: /is shard 3\/3, .* is one of 2/,
    },
  );
});

test('reports: a file that is not a numacage report is refused with its path and what is wrong (exit 2), not a crash', (t) => {
  const bad = join(tmpdir(), `numacage-bad-report-${process.pid}.json`);
  writeFileSync(bad, JSON.stringify({ runs: [{ cell: 'a/stock' }] }));
  t.throws(() => loadReport(bad), { instanceOf: ConfigError, message: /runs\[0\]\.runDir[\s\S]*runs\[0\]\.verdict/ });
  writeFileSync(bad, JSON.stringify({ runId: 'x', checks: 'none' }));
  t.throws(() => loadReport(bad), { instanceOf: ConfigError, message: /run report .*: *\n[\s\S]*checks/ });
  rmSync(bad);
});

test('regressions: the series against its base (recorded by numacage repro): exec-1 newly failing and the WARNING a new crash signature', (t) => {
  const r = findRegressions(
    cellVerdicts(loadReport(runs('repro-mbind-warn/base.report.json'))),
    cellVerdicts(loadReport(runs('repro-mbind-warn/patched.report.json'))),
  );
  t.deepEqual(
    r.newlyFailing.map((c) => [c.check, c.before, c.after]),
    [['exec-1', 'pass', 'fail']],
  );
  t.deepEqual(
    r.newCrashes.map((c) => [c.signature, c.during]),
    [['warning: do_mbind < __x64_sys_mbind', 'exec-1']],
  );
  t.true(regressed(r));
  const md = renderRegressionsMarkdown(r, { baseline: 'base', current: 'patched' });
  t.regex(md, /## numacage: 2 regressions since the baseline/);
  t.regex(md, /\| private-virtio\/base -> private-virtio\/patched \| \*\*exec-1\*\* \| pass \| fail \|/);
  t.regex(md, /`warning: do_mbind < __x64_sys_mbind`/);
  t.regex(
    renderRegressionsText(r),
    /newly failing .* exec-1: pass -> fail[\s\S]*new crash .* warning: do_mbind < __x64_sys_mbind {2}during exec-1/,
  );
});

test('regressions: lean kernel to the private-node series fixes the xfail/xpass checks; its slower probe stage is a time regression unless the threshold allows it; the profile change always is', (t) => {
  const before = cellVerdicts(loadReport(runs(LEAN)));
  const after = cellVerdicts(loadReport(runs(SERIES)));
  const r = findRegressions(before, after);
  t.deepEqual(r.newlyFailing, []);
  t.deepEqual(r.newCrashes, []);
  t.true(r.fixed.some((c) => c.check === 'virtio-rings' && c.before === 'xpass' && c.after === 'pass'));
  // The private-node kernel's no-fallback-in fills P until the OOM killer: 42.9 s against 13.6 s.
  t.deepEqual(
    r.slower.map((s) => [s.what, s.before, s.after]),
    [
      ['probe', 33.3, 56.4],
      ['no-fallback-in', 13.6, 42.9],
    ],
  );
  t.true(regressed(r));
  const lenient = findRegressions(before, after, { percent: 1000, minSeconds: 5 });
  t.deepEqual(lenient.slower, [], 'the threshold allows the slower probe stage');
  // What is left is the kernel itself: another profile under the same cell, and bind-strict no longer judged there.
  t.deepEqual(
    lenient.profileChanged.map((c) => `${c.which} ${c.before} -> ${c.after}`),
    ['detected vanilla -> private'],
  );
  t.regex(
    renderRegressionsMarkdown(lenient, { baseline: 'a', current: 'b' }),
    /### Kernel profile changed[\s\S]*### Fixed/,
  );
});

test('regressions: a cell or check gone from the new report is a regression; a new cell is not', (t) => {
  const lean = loadReport(runs(LEAN)).runs[0]!.verdict;
  const series = loadReport(runs(SERIES)).runs[0]!.verdict;
  const withoutAbi = { ...lean, checks: lean.checks.filter((c) => c.id !== 'abi') };
  const r = findRegressions(
    new Map([
      ['x/built', lean],
      ['x/built:private-node', series],
    ]),
    new Map([
      ['x/built', withoutAbi],
      ['y/built', lean],
    ]),
  );
  t.deepEqual(
    r.vanishedChecks.map((c) => [c.cell, c.check]),
    [['x/built', 'abi']],
  );
  t.deepEqual(r.vanishedCells, ['x/built:private-node']);
  t.deepEqual(r.newCells, ['y/built']);
  t.true(regressed(r));
});

test('regressions: a guest that stops booting is one row, not one per check; timings of another accelerator are not compared', (t) => {
  const lean = loadReport(runs(LEAN)).runs[0]!.verdict;
  // As numacage reports a boot failure: every selected check not-run (src/run/run.ts).
  const noBoot = {
    ...lean,
    bootFailure: { reason: 'boot-hang', message: 'console silent for 60 s', consoleTail: [] },
    checks: lean.checks.map((c) => ({ ...c, outcome: 'not-run' as const })),
  };
  const r = findRegressions(new Map([['c', lean]]), new Map([['c', noBoot]]));
  t.deepEqual(
    r.newlyFailing.map((c) => c.check),
    ['boot'],
  );
  t.regex(r.newlyFailing[0]!.summary, /boot-hang: console silent for 60 s; 18 checks not run/);
  const kvm = { ...lean, accel: { ...lean.accel, accel: 'kvm' }, timings: { ...lean.timings, probe: 1 } };
  const other = findRegressions(new Map([['c', kvm]]), new Map([['c', lean]]));
  t.deepEqual(other.slower, []);
  t.deepEqual(other.otherAccel, ['c (kvm then tcg)']);
  t.false(regressed(other));
});

test('regressions: a pass that became xfail or skip weakened, a changed profile is named; fail to skip is not fixed; failing in both is still failing', (t) => {
  const series = loadReport(runs(SERIES)).runs[0]!.verdict;
  const lean = loadReport(runs(LEAN)).runs[0]!.verdict;
  // The lean kernel's bind-strict passes where the series skips it; virtio-rings is xpass (bad) on the lean kernel.
  const r = findRegressions(new Map([['c', lean]]), new Map([['c', series]]), { percent: 1000, minSeconds: 5 });
  t.true(r.weakened.some((c) => c.check === 'bind-strict' && c.before === 'pass' && c.after === 'skip'));
  t.deepEqual(r.profileChanged, [{ cell: 'c', which: 'detected', before: 'vanilla', after: 'private' }]);
  t.true(regressed(r));
  t.regex(
    renderRegressionsText(r),
    /weakened +c +bind-strict: pass -> skip[\s\S]*profile +c +detected: vanilla -> private/,
  );
  // A night where the series stopped working: every pass of the series became the lean kernel's xfail.
  const lapsed = {
    ...series,
    checks: series.checks.map((c) => ({ ...c, outcome: c.outcome === 'pass' ? ('xfail' as const) : c.outcome })),
  };
  const night = findRegressions(new Map([['c', series]]), new Map([['c', lapsed]]));
  t.is(night.weakened.length, series.checks.filter((c) => c.outcome === 'pass').length);
  t.regex(
    renderRegressionsMarkdown(night, { baseline: 'a', current: 'b' }),
    /### Weaker than the baseline[\s\S]*\*\*abi\*\* \| pass \| xfail/,
  );
  const stuck = findRegressions(new Map([['c', lean]]), new Map([['c', lean]]));
  t.true(stuck.stillFailing.some((c) => c.check === 'virtio-rings' && c.after === 'xpass'));
  t.false(regressed(stuck));
  const skipped = {
    ...lean,
    checks: lean.checks.map((c) => (c.id === 'virtio-rings' ? { ...c, outcome: 'skip' as const } : c)),
  };
  const gone = findRegressions(new Map([['c', lean]]), new Map([['c', skipped]]));
  t.false(gone.fixed.some((c) => c.check === 'virtio-rings'));
  t.true(
    gone.newlySkipped.some((c) => c.check === 'virtio-rings'),
    'xpass to skip: shown, not a regression',
  );
  t.regex(
    renderRegressionsMarkdown(stuck, { baseline: 'a', current: 'b' }),
    /### Still failing \(not a regression\)[\s\S]*virtio-rings/,
  );
});
