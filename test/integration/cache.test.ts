import { execFileSync } from 'node:child_process';
import { openSync, readdirSync, readFileSync, writeSync, closeSync, statSync, truncateSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { dir } from 'tmp-promise';
import { aLeanKernel } from '../helpers/cached.js';
import { numacage } from '../helpers/cli.js';

// A real kernel entry, taken through the cache API (built when missing: the lean kernel), copied with its
// times into a cache dir of the test's own, then damaged as a disk or a person would.
async function copyOfAKernelEntry(cacheDir: string): Promise<{ entry: string; key: string }> {
  const { dir, key } = await aLeanKernel();
  execFileSync('mkdir', ['-p', join(cacheDir, 'kernels')]);
  execFileSync('cp', ['-a', dir, join(cacheDir, 'kernels', key)]);
  return { entry: join(cacheDir, 'kernels', key), key };
}

test.serial(
  'cache verify: a truncated bzImage, a flipped byte behind an unchanged size and mtime, and an intact entry',
  async (t) => {
    const cache = await dir({ unsafeCleanup: true });
    const verify = () => numacage(['--cache-dir', cache.path, 'cache', 'verify']);

    const first = await copyOfAKernelEntry(cache.path);
    const { key } = first;
    let { entry } = first;
    let r = await verify();
    t.is(r.exitCode, 0, r.all);
    t.regex(r.stdout, new RegExp(`(ok|recorded) +kernels/${key}`));
    // Touched but unchanged: the hash decides, and it agrees.
    const now = new Date();
    utimesSync(join(entry, 'bzImage'), now, now);
    r = await verify();
    t.is(r.exitCode, 0, r.all);

    const size = statSync(join(entry, 'bzImage')).size;
    truncateSync(join(entry, 'bzImage'), size - 4096);
    r = await verify();
    t.is(r.exitCode, 1, r.all);
    t.regex(
      r.stdout,
      new RegExp(`DAMAGED +kernels/${key}: bzImage is ${size - 4096} bytes, ${size} when built; removed`),
    );
    t.deepEqual(readdirSync(join(cache.path, 'kernels')), [], 'the damaged entry is gone, nothing half-removed stays');

    ({ entry } = await copyOfAKernelEntry(cache.path));
    const before = statSync(join(entry, 'bzImage'));
    const fd = openSync(join(entry, 'bzImage'), 'r+');
    const byte = readFileSync(join(entry, 'bzImage'))[4096]!;
    writeSync(fd, Buffer.from([byte ^ 0xff]), 0, 1, 4096);
    closeSync(fd);
    utimesSync(join(entry, 'bzImage'), before.atime, before.mtime);
    r = await verify();
    t.is(r.exitCode, 1, r.all);
    t.regex(r.stdout, /bzImage has another sha256 than when built/);
    await cache.cleanup();
  },
);
