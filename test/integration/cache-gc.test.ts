import { readdirSync, utimesSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import test from 'ava';
import { dir } from 'tmp-promise';
import { listCache } from '../../src/cache/ls.js';
import { aLeanKernel, BANNER, copyIntoCache, MBIND_WARN, theImage, theProbe } from '../helpers/cached.js';
import { numacage } from '../helpers/cli.js';

// The image, the probe and three kernels, taken through the cache API (built when missing) and copied
// (with their times) into a cache of the test's own; the user's cache is only read.
test.serial(
  'cache gc --max-size evicts the kernels and keeps the image used last; a stock run right after works',
  async (t) => {
    const cache = await dir({ unsafeCleanup: true });
    const out = await dir({ unsafeCleanup: true });
    const entries = [
      await theImage(),
      await theProbe(),
      await aLeanKernel(),
      await aLeanKernel(BANNER),
      await aLeanKernel(MBIND_WARN),
    ];
    const copies = copyIntoCache(
      cache.path,
      entries.map((e) => ('dir' in e ? e.dir : dirname(e.path))),
    );
    const [image, probe, ...kernelCopies] = copies as [string, string, ...string[]];
    const kernels = kernelCopies.map((c) => basename(c));

    // The kernels were used last ten days ago, the image and the probe just now.
    const at = (days: number) => new Date(Date.now() - days * 24 * 3600_000);
    for (const k of kernels) utimesSync(join(cache.path, 'kernels', k, 'meta.json'), at(10), at(10));
    for (const c of [image, probe]) utimesSync(join(cache.path, c, 'meta.json'), at(0), at(0));
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
    t.deepEqual(after.entries.map((e) => `${e.kind}/${e.key}`).sort(), [image, probe].sort());
    t.deepEqual(readdirSync(join(cache.path, 'kernels')), [], 'no half-removed entry left');

    const run = await numacage(['run', '--cache-dir', cache.path, '--suite', 'smoke', '--out', out.path]);
    t.is(run.exitCode, 0, run.all);
    t.regex(run.stderr, /image cache hit/, 'the image was kept, not built again');
    t.deepEqual(
      readdirSync(join(cache.path, 'host', 'in-use')),
      [],
      'the run dropped its in-use record when it exited',
    );
    await out.cleanup();
    await cache.cleanup();
  },
);
