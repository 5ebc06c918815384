// `npm test` runs this before ava: it builds, through the cache API that `numacage run` uses, every
// kernel, image, probe and kselftest set the integration tests boot, so that no single ava test waits
// on a cold make and ava's timeout stays meaningful for the tests themselves. On a warm cache each
// item is a cache hit (about a second in all). The list is the tests' own kernel words; a test whose
// artifact is missing here still gets it (built when missing), only slower.
import { ensureImage, loadRecipe } from '../src/adapters/image-builder.js';
import { DEFAULT_FRAGMENTS, ensureKernel } from '../src/adapters/kernel-builder.js';
import { ensureKselftests } from '../src/adapters/kselftest-builder.js';
import { ensureProbeBinary } from '../src/adapters/probe-binary.js';
import { resolveCacheDir } from '../src/adapters/cache-dir.js';
import { openCache } from '../src/cache/sweep.js';
import { projectPath } from '../src/adapters/project.js';
import { createLogger } from '../src/log.js';
import { DEFAULT_IMAGE } from '../src/image/recipe.js';
import { parseKselftestNames } from '../src/steps/kselftest.js';

const cacheDir = resolveCacheDir();
const log = createLogger({ json: false });
const BANNER = projectPath('test/fixtures/patches/banner');
const MBIND_WARN = projectPath('test/fixtures/series/mbind-warn/series.mbox');

/** What the integration tests need, in an order that keeps each build dir's rebuilds small. */
const ITEMS: [string, () => Promise<unknown>][] = [
  ['probe (guest/probe/)', () => ensureProbeBinary(cacheDir)],
  ['image debian-bookworm', async () => ensureImage({ recipe: await loadRecipe(DEFAULT_IMAGE), cacheDir, log })],
  ['kernel lean (guest-base numa-mm)', () => ensureKernel({ cacheDir, log, fragments: DEFAULT_FRAGMENTS })],
  ['kernel lean + banner patch', () => ensureKernel({ cacheDir, log, fragments: DEFAULT_FRAGMENTS, patches: BANNER })],
  ...[2, 3, 4].map((k): [string, () => Promise<unknown>] => [
    `kernel lean + mbind-warn @${k} (bisect${k === 4 ? ', nightly' : ''})`,
    () => ensureKernel({ cacheDir, log, fragments: DEFAULT_FRAGMENTS, patches: `${MBIND_WARN}@${k}` }),
  ]),
  [
    'kselftests mm/ksm_functional_tests',
    () => ensureKselftests({ cacheDir, log, tests: parseKselftestNames(['mm/ksm_functional_tests']) }),
  ],
  [
    'kselftests mm/madv_populate',
    () => ensureKselftests({ cacheDir, log, tests: parseKselftestNames(['mm/madv_populate']) }),
  ],
  [
    'kernel lean + private-node series',
    () => ensureKernel({ cacheDir, log, fragments: DEFAULT_FRAGMENTS, patches: 'private-node' }),
  ],
  [
    'kernel lean + private-node series v1 (@13, against v2)',
    () => ensureKernel({ cacheDir, log, fragments: DEFAULT_FRAGMENTS, patches: 'private-node@13' }),
  ],
  [
    'kernel lean + mbind-warn (repro: @4 again)',
    () => ensureKernel({ cacheDir, log, fragments: DEFAULT_FRAGMENTS, patches: MBIND_WARN }),
  ],
];

const rows: string[] = [];
const started = Date.now();
await openCache(cacheDir, log);
process.stdout.write(`test prebuild: ${ITEMS.length} artifacts in ${cacheDir}\n`);
for (const [what, build] of ITEMS) {
  const t = Date.now();
  process.stdout.write(`test prebuild: ${what} ...\n`);
  await build();
  rows.push(`  ${((Date.now() - t) / 1000).toFixed(1).padStart(7)} s  ${what}`);
}
process.stdout.write(`test prebuild: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n${rows.join('\n')}\n`);
