import { fc, testProp } from '@fast-check/ava';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { RunConfigFile, parseRunConfig } from '../../src/run/config.js';
import { CrashScanner } from '../../src/console/crash-scanner.js';
import { RecipeFile, parseRecipe } from '../../src/image/recipe.js';
import { ConfigError } from '../../src/model/errors.js';
import type { Topology } from '../../src/model/topology.js';
import { materialise, planRun, type HostFacts } from '../../src/plan/run-plan.js';
import { renderJsonSchema } from '../../src/cli/json-schemas.js';
import { TopologyFile } from '../../src/topology/schema.js';
import { parseTopology } from '../../src/topology/parse.js';
import { fixture } from '../helpers/fixtures.js';
import { mutated, recipeFile, runConfigFile, topologyFile } from '../helpers/generators.js';

// Generated and mutated inputs: each is valid (and then the QEMU argv is well-formed) or a ConfigError,
// never another exception (which the CLI would report as an internal error, exit 70). About 10,000
// cases in all per run; fast-check prints the seed and the shrunk counterexample of a failure, and
// FC_SEED=<seed> replays it.
const params = (numRuns: number) => ({
  numRuns,
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
});

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
  params(5000),
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
  params(2000),
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
  params(1000),
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
  params(2000),
);
