import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assertCacheWritable, isTransient, transientPid } from '../adapters/cache-dir.js';
import type { Logger } from '../log.js';
import { CACHE_KINDS, stagingInUse } from './ls.js';

/**
 * The cache dir is writable, and what a numacage that died mid-build left there (SIGKILL, a crash, a
 * reset: no handler of its own ran) is gone: the staging and removing dirs `cache gc` would remove.
 */
export async function openCache(cacheDir: string, log: Logger): Promise<void> {
  await assertCacheWritable(cacheDir);
  for (const path of await leftBehind(cacheDir)) {
    await rm(path, { recursive: true, force: true });
    log.info({ path }, 'removed a staging dir left by a numacage that died');
  }
}

async function leftBehind(cacheDir: string): Promise<string[]> {
  const found: string[] = [];
  const now = Date.now();
  const scan = async (dir: string, depth: number) => {
    for (const d of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (!d.isDirectory()) continue;
      const path = join(dir, d.name);
      if (!isTransient(d.name)) {
        if (depth > 0) await scan(path, depth - 1);
        continue;
      }
      const mtime = (await stat(path).catch(() => undefined))?.mtimeMs ?? now;
      if (stagingInUse(transientPid(d.name), mtime, now).length === 0) found.push(path);
    }
  };
  // A kernel work tree stages its source inside its own dir (kernel-work/<key>/src.staging-<pid>).
  for (const kind of CACHE_KINDS) await scan(join(cacheDir, kind), kind === 'kernel-work' ? 1 : 0);
  return found;
}
