import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { findRegressions } from '../../src/report/regressions.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { compareCommand } from '../../src/matrix/compare.js';
import { mergedReport, mergeReports } from '../../src/matrix/merge.js';
import { loadReport } from '../../src/matrix/reports.js';
import type { MatrixReport } from '../../src/report/matrix-report.js';
import { REPORT_OUTPUTS } from '../../src/report/outputs.js';
import { RunConfigFile, parseRunConfig } from '../../src/run/config.js';
import { CrashScanner } from '../../src/console/crash-scanner.js';
import { RecipeFile, parseRecipe } from '../../src/image/recipe.js';
import { ConfigError } from '../../src/model/errors.js';
import type { Topology } from '../../src/model/topology.js';
import { chart, type CrashReport, type Verdict } from '../../src/model/verdict.js';
import { materialise, planRun, type HostFacts } from '../../src/plan/run-plan.js';
import { renderJsonSchema } from '../../src/cli/json-schemas.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { TopologyFile } from '../../src/topology/schema.js';
import { parseTopology } from '../../src/topology/parse.js';
import { projectPath } from '../../src/adapters/project.js';
import { fixture } from '../helpers/fixtures.js';
import { propertyRuns } from '../helpers/property-runs.js';
import { recordedReport } from '../helpers/hostile.js';
import { mutated, recipeFile, runConfigFile, tampered, topologyFile } from '../helpers/generators.js';

// Generated and mutated inputs: each is valid (and then the QEMU argv is well-formed) or a ConfigError,
// never another exception (which the CLI would report as an internal error, exit 70). About 11,000
// cases in all per run; fast-check prints the seed and the shrunk counterexample of a failure, and
// FC_SEED=<seed> replays it; NUMACAGE_PROPERTY_RUNS=N runs N cases of each.

const ajv = new Ajv2020({ allErrors: true, strict: false });
const publishedSchema = (schema: Parameters<typeof renderJsonSchema>[0]) =>
  ajv.compile(JSON.parse(renderJsonSchema(schema)));

const FLAG_ONLY = new Set(['-nodefaults', '-no-user-config', '-no-reboot']);

function assertWellFormedArgv(t: { true(v: boolean, m?: string): void }, argv: string[]) {
  for (const [i, a] of argv.entries()) {
    t.true(
      typeof a === 'string' && a.length > 0 && !/undefined|NaN|\[object|null/.test(a),
      `argv[${i}] = ${JSON.stringify(a)}`,
    );
    if (a.startsWith('-') && !FLAG_ONLY.has(a))
      t.true(i + 1 < argv.length && !argv[i + 1]!.startsWith('-'), `${a} has a value`);
  }
}

const facts: HostFacts = {
  image: { recipe: 'debian-bookworm', key: 'K', note: 'cached' },
  kernel: { kind: 'built', vmlinuz: '/cache/kernels/K/bzImage', note: 'built kernel' },
  accel: { accel: 'tcg', cpuModel: 'max', note: 'TCG' },
};
const argvFor = (topology: Topology) =>
  materialise(
    planRun({ topology, init: 'minimal', append: [], checks: ['topology'], steps: [], uploads: [] }, facts).argv,
    {
      runDir: '/runs/R',
      qmpDir: '/tmp/q',
      sshPort: 2222,
    },
  );

const validTopology = publishedSchema(TopologyFile);

testProp(
  'topology files: valid, planned, with a well-formed argv, or a ConfigError; the published schema never refuses what numacage takes',
  [mutated(topologyFile)],
  (t, raw) => {
    let topology: Topology;
    try {
      topology = parseTopology(raw, 'generated.json');
    } catch (err) {
      t.true(err instanceof ConfigError, String(err));
      t.regex((err as ConfigError).message, /^topology generated\.json is invalid:\n {2}- /);
      return;
    }
    t.true(validTopology(raw), JSON.stringify(validTopology.errors));
    assertWellFormedArgv(t, argvFor(topology));
  },
  propertyRuns(2_000),
);

const validRunConfig = publishedSchema(RunConfigFile);
testProp(
  'run configs: flags, or a ConfigError naming a JSON path; the published schema agrees',
  [mutated(runConfigFile)],
  (t, raw) => {
    let flags: Record<string, unknown>;
    try {
      flags = parseRunConfig(raw, '/ci/run.json');
    } catch (err) {
      t.true(err instanceof ConfigError, String(err));
      t.false(validRunConfig(raw), 'the published schema accepts what numacage refuses');
      return;
    }
    t.true(validRunConfig(raw), JSON.stringify(validRunConfig.errors));
    for (const v of Object.values(flags))
      t.true(
        ['string', 'number'].includes(typeof v) || (Array.isArray(v) && v.every((x) => typeof x === 'string')),
        JSON.stringify(v),
      );
  },
  propertyRuns(2_000),
);

const validRecipe = publishedSchema(RecipeFile);
testProp(
  'image recipes: a recipe, or a ConfigError; the published schema agrees',
  [mutated(recipeFile)],
  (t, raw) => {
    let ok = true;
    try {
      parseRecipe(raw, 'generated', 'images/generated.json');
    } catch (err) {
      t.true(err instanceof ConfigError, String(err));
      ok = false;
    }
    t.is(validRecipe(raw), ok, JSON.stringify(validRecipe.errors));
  },
  propertyRuns(2_000),
);

// Real console lines (a clean boot, a panic, every report family) mixed with arbitrary text, cut anywhere.
const consoleLines = [
  'stock-clean-boot.log',
  'stock-sysrq-crash.log',
  'built-init-nonexistent.log',
  'constructed-reports.log',
].flatMap((f) => fixture('console', f).split('\n'));
const consoleText = fc
  .array(fc.oneof(fc.constantFrom(...consoleLines), fc.string({ unit: 'binary' })), { maxLength: 80 })
  .map((ls) => ls.join('\n'));

function scanInChunks(text: string, cuts: number[]) {
  const s = new CrashScanner();
  let at = 0;
  for (const cut of [...cuts.map((c) => c % (text.length + 1))].sort((a, b) => a - b)) {
    s.feed(text.slice(at, cut));
    at = cut;
  }
  s.feed(text.slice(at));
  s.flush();
  return s.crashes;
}

testProp(
  'the crash scanner never throws and finds the same crashes however the console is chunked',
  [consoleText, fc.array(fc.nat(), { maxLength: 12 })],
  (t, text, cuts) => {
    t.deepEqual(scanInChunks(text, cuts), scanInChunks(text, []));
  },
  propertyRuns(2_000),
);

// Reports from a CI artifact, as merge and compare read them: recorded reports (lone runs and a merge),
// edited by hand or tampered with. Each is refused by the loader (a ConfigError naming the file and the
// JSON path), or every renderer merge and compare use takes it.
const RECORDED_REPORTS = [
  'runs/witness/stock.report.json',
  'runs/repro-mbind-warn/patched.report.json',
  'runs/lean-vs-private-node/built.report.json',
  'nightly/baseline.report.json',
].map(recordedReport);
const reportsDir = mkdtempSync(join(tmpdir(), 'numacage-reports-'));
test.after.always(() => rmSync(reportsDir, { recursive: true, force: true }));
/** Writes a report into its own directory under reportsDir; returns its path. */
function reportAt(name: string, doc: unknown, text = JSON.stringify(doc)): string {
  mkdirSync(join(reportsDir, name), { recursive: true });
  writeFileSync(join(reportsDir, name, 'report.json'), text);
  return join(reportsDir, name, 'report.json');
}
const originals = RECORDED_REPORTS.map((doc, i) => reportAt(`original-${i}`, doc));
const mutant = join(reportsDir, 'mutant', 'report.json');
for (const i of [0, 1, 2, 3]) mkdirSync(join(reportsDir, 'mutant', 'runs', String(i)), { recursive: true });
// Invalid at a JSON path, or too big to read at all (a mutant that repeats a large part of a report, seen at 140 MB).
const REFUSED =
  /^(?:(run|matrix) report \S+ is invalid:\n {2}- \S|numacage report \S+ is \d+ bytes, more than the \d+ numacage reads$)/;

/** A ConfigError ends the command (exit 2): undefined; any other exception fails the property. */
async function unlessRefused<T>(f: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
}

testProp(
  'reports from a CI artifact: refused with a ConfigError naming the file and the JSON path, or merge and compare render them without an exception',
  [
    fc
      .nat({ max: RECORDED_REPORTS.length - 1 })
      .chain((i) =>
        fc.tuple(
          fc.constant(i),
          fc.oneof(mutated(fc.constant(RECORDED_REPORTS[i])), tampered(fc.constant(RECORDED_REPORTS[i]))),
        ),
      ),
  ],
  async (t, [i, doc]) => {
    writeFileSync(mutant, JSON.stringify(doc));
    try {
      loadReport(mutant);
    } catch (err) {
      t.true(err instanceof ConfigError, String(err));
      t.true((err as Error).message.includes(mutant), (err as Error).message);
      t.regex((err as Error).message, REFUSED);
      return;
    }
    const original = originals[i]!;
    // compare: both ways, text and Markdown; and the kernels of one matrix side by side. A report that loads
    // can still be refused by compare (exit 2): one in which no cell ran (report-trust.test).
    for (const paths of [
      [original, mutant],
      [mutant, original],
    ])
      try {
        t.true((await compareCommand(paths, { markdownFile: '/dev/null' })).text.length > 0, 'compare says something');
      } catch (err) {
        t.true(err instanceof ConfigError && (err as Error).message.includes(mutant), String(err));
      }
    await unlessRefused(() => compareCommand([mutant], { by: 'kernel' }));
    // merge: every file of the merged report (mergeCommand's own steps, without the copying).
    const merged = await unlessRefused(() => mergeReports([loadReport(mutant, { forMerge: true })]));
    if (!merged) return;
    const report = mergedReport(merged);
    for (const output of REPORT_OUTPUTS) {
      const cells = new Map(report.runs.map((r) => [r.cell, r.verdict]));
      const comparison = { regressions: findRegressions(cells, cells), names: { baseline: 'b', current: 'c' } };
      const text = output.render({ kind: 'merge', title: 'numacage merged', report, comparison }, 'now');
      t.true(text === undefined || text.length > 0, `${output.file('merge')} is empty`);
    }
  },
  propertyRuns(2_000),
);

/** Every report numacage recorded under test/fixtures (a run's, a matrix's or a merge's). */
function recordedReports(dir = projectPath('test', 'fixtures')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return recordedReports(path);
    if (!e.name.endsWith('.json')) return [];
    const doc = JSON.parse(fixture(path.slice(projectPath('test', 'fixtures').length + 1)));
    return doc && typeof doc === 'object' && ('runId' in doc || 'runs' in doc) ? [path] : [];
  });
}

test('every report numacage recorded loads, and so does one with every field a verdict has', (t) => {
  const files = recordedReports();
  t.true(files.length >= 7, files.join(', '));
  for (const f of files) t.notThrows(() => loadReport(f), f);
  const lean = JSON.parse(fixture('runs/lean-vs-private-node/built.report.json')) as Verdict;
  const crash: CrashReport = {
    type: 'WARNING',
    title: 'WARNING: mm/mempolicy.c:1 at f',
    fatal: false,
    atSeconds: 3.5,
    lines: ['WARNING: mm/mempolicy.c:1 at f', ' f+0x1/0x2'],
    during: 'exec-1',
    signature: 'WARNING: f',
    decoded: ['f (mm/mempolicy.c:1)'],
  };
  const failure = { reason: 'kernel-crash', message: 'Oops', consoleTail: ['[ 3.4] Oops'] };
  // Typed as a Verdict: a field numacage writes that the loader refuses fails here.
  const full: Verdict = {
    ...lean,
    cell: 'private-virtio/built',
    topologySpec: builtinTopology('private-virtio')!,
    profile: { profile: 'vanilla', reason: 'no private_node' },
    expectedProfile: { profile: 'vanilla', why: 'inferred' },
    checks: [
      ...lean.checks,
      {
        id: 'kselftest-mm',
        title: 'kselftest mm',
        expected: 'pass',
        outcome: 'fail',
        summary: '1 of 2 failed',
        problems: ['not ok 2 b'],
        evidence: {},
        durationSeconds: 1.5,
        command: 'run_kselftest.sh -c mm',
        subtests: [
          { id: 1, name: 'a', outcome: 'pass' },
          { id: 2, name: 'b', outcome: 'skip', reason: 'no THP' },
        ],
        placements: [chart('move_pages of 16 pages to node 1', { before: { '0': 16 }, after: { '1': 16 } })],
      },
    ],
    bootFailure: failure,
    bootRetries: [failure],
    stopped: { reason: 'qemu-exited', message: 'QEMU exited' },
    probeProvoked: [crash],
    emulatorArtifacts: [crash],
    crashes: [crash],
  };
  t.notThrows(() => loadReport(reportAt('full-run', full)));
  const matrix: MatrixReport = {
    kind: 'numacage-matrix',
    ok: false,
    cells: [full.cell!],
    shard: { index: 1, count: 1 },
    mergedFrom: ['a/matrix.json'],
    runs: [{ cell: full.cell!, runDir: 'runs/0', ok: false, verdict: full }],
  };
  t.notThrows(() => loadReport(reportAt('full-matrix', matrix)));
});

test('a report too deep, too large or naming what no path is: refused with the file and the JSON path, not a crash', (t) => {
  const lean = JSON.parse(fixture('runs/lean-vs-private-node/built.report.json')) as Verdict;
  const refused = (doc: unknown, path: RegExp, text?: string, opts = {}) => {
    const file = reportAt('limits', doc, text);
    const err = t.throws(() => loadReport(file, opts), { instanceOf: ConfigError });
    t.true(err!.message.includes(file), err!.message);
    t.regex(err!.message, path);
  };
  // 100,000 levels: JSON.stringify (compare, the HTML evidence) overflows at a few thousand.
  const deep = JSON.stringify({ ...lean, checks: [{ ...lean.checks[0], evidence: { x: 'DEEP' } }] });
  refused(
    undefined,
    /checks\[0\]\.evidence\.x(\[0\]){60}: nests deeper than 64 levels/,
    deep.replace('"DEEP"', '['.repeat(100_000) + ']'.repeat(100_000)),
  );
  // 150,000 problems: more than Math.max(...xs) and push(...xs) take.
  refused(
    { ...lean, checks: [{ ...lean.checks[0], problems: Array(150_000).fill('x') }] },
    /\(top level\): holds more than 50000 values/,
  );
  refused(
    { runs: [{ runDir: 'runs/0', verdict: { ...lean, crashes: Array(60_000).fill(0) } }] },
    /runs\[0\]\.verdict: holds more than 50000 values/,
  );
  // encodeURI (the HTML report's artifact links) throws on a lone surrogate.
  refused({ ...lean, artifacts: { console: 'console\ud800.log' } }, /artifacts\.console: must be a path/);
  refused({ runs: [{ runDir: 'a\u0000b', verdict: lean }] }, /runs\[0\]\.runDir: must be a path/);
  // A run directory through a file: lstat says ENOTDIR, which is no "not there".
  refused(
    { runs: [{ runDir: 'report.json/x', verdict: lean }] },
    /runs\[0\]\.runDir cannot be a run directory: ENOTDIR/,
    undefined,
    { forMerge: true },
  );
  // The HTML report draws a bar per node of each page map in the evidence, and spreads the bars as arguments.
  const pages = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [String(i), 1]));
  refused(
    { ...lean, checks: [{ ...lean.checks[0], evidence: { cases: [{ before: pages }] } }] },
    /checks\[0\]\.evidence\.cases\[0\]\.before: has more than 4096 keys/,
  );
  const placements = [chart('moved', { after: { '0': 1, '4096': 1 } })];
  refused(
    { ...lean, checks: [{ ...lean.checks[0], placements }] },
    /checks\[0\]\.placements\[0\]\.maps\[0\]\.pages\.4096: must be a node id, 0 to 1023/,
  );
});
