import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { dir } from 'tmp-promise';
import { resolveCacheDir } from '../../src/adapters/cache-dir.js';
import { imageKey, loadRecipe } from '../../src/adapters/image-builder.js';
import { PROBE_SOURCE } from '../../src/adapters/probe-binary.js';
import { projectPath } from '../../src/adapters/project.js';
import { listCache } from '../../src/app/cache-ls.js';
import { DEFAULT_IMAGE } from '../../src/image/recipe.js';
import { numacage } from '../helpers/cli.js';

// The user's image, probe and a few kernels, copied (with their times) into a cache of the test's own;
// the user's cache is only read.
test.serial('cache gc --max-size evicts the kernels and keeps the image used last; a stock run right after works', async (t) => {
  const real = resolveCacheDir();
  const cache = await dir({ unsafeCleanup: true });
  const out = await dir({ unsafeCleanup: true });
  const image = (await imageKey(await loadRecipe(DEFAULT_IMAGE))).key;
  const probe = createHash('sha256').update(readFileSync(projectPath(PROBE_SOURCE))).digest('hex').slice(0, 24);
  const kernels = readdirSync(join(real, 'kernels')).filter((k) => existsSync(join(real, 'kernels', k, 'meta.json'))).slice(0, 3);
  const copies = [`images/${image}`, `probe/${probe}`, ...kernels.map((k) => `kernels/${k}`)];
  for (const c of copies) {
    if (!existsSync(join(real, c))) throw new Error(`no ${join(real, c)}: run the stock-run and kernel tests first`);
    mkdirSync(join(cache.path, c, '..'), { recursive: true });
    execFileSync('cp', ['-a', '--reflink=auto', join(real, c), join(cache.path, c)]);
  }
  // This host's KVM verdict, so that the run does not probe KVM again.
  mkdirSync(join(cache.path, 'host'));
  for (const f of readdirSync(join(real, 'host')).filter((f) => /^kvm-.*\.json$/.test(f))) execFileSync('cp', [join(real, 'host', f), join(cache.path, 'host', f)]);

  // The kernels were used last ten days ago, the image and the probe just now.
  const at = (days: number) => new Date(Date.now() - days * 24 * 3600_000);
  for (const k of kernels) utimesSync(join(cache.path, 'kernels', k, 'meta.json'), at(10), at(10));
  for (const c of [`images/${image}`, `probe/${probe}`]) utimesSync(join(cache.path, c, 'meta.json'), at(0), at(0));
  const before = await listCache(cache.path);
  const bytes = (kind: string) => before.entries.filter((e) => e.kind === kind).reduce((s, e) => s + e.bytes, 0);
  t.is(before.entries.length, copies.length);
  const max = bytes('images') + bytes('probe') + 64 * 1024;
  t.true(max < before.totalBytes, 'the kernels do not fit');

  const gc = await numacage(['cache', 'gc', '--cache-dir', cache.path, '--max-size', String(max)]);
  t.is(gc.exitCode, 0, gc.all);
  for (const k of kernels) t.true(gc.stdout.includes(k), `gc names kernels/${k}`);
  const after = await listCache(cache.path);
  t.true(after.totalBytes <= max, `${after.totalBytes} bytes left, --max-size ${max}`);
  t.deepEqual(after.entries.map((e) => `${e.kind}/${e.key}`).sort(), [`images/${image}`, `probe/${probe}`].sort());
  t.deepEqual(readdirSync(join(cache.path, 'kernels')), [], 'no half-removed entry left');

  const run = await numacage(['run', '--cache-dir', cache.path, '--suite', 'smoke', '--out', out.path]);
  t.is(run.exitCode, 0, run.all);
  t.regex(run.stderr, /image cache hit/, 'the image was kept, not built again');
  t.deepEqual(readdirSync(join(cache.path, 'host', 'in-use')), [], 'the run dropped its in-use record when it exited');
  await out.cleanup();
  await cache.cleanup();
});
