import { mkdir } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import type { Logger } from '../log.js';
import { onInterrupt } from './cleanup.js';

const POLL_MS = 2000;

/**
 * Holds `<dir>/<name>.lock` (proper-lockfile: an atomic mkdir, kept fresh
 * while held; one left by a dead process goes stale after 20 s and is taken
 * over by exactly one waiter) while fn runs. Waits, saying so once, while
 * another numacage holds it.
 */
export async function withLock<T>(dir: string, name: string, what: string, log: Logger, fn: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true });
  const lockfilePath = `${dir}/${name}.lock`;
  let release: (() => Promise<void>) | undefined;
  for (let waited = 0; !release; waited++) {
    try {
      release = await lockfile.lock(dir, { lockfilePath, stale: 20_000, update: 5000, realpath: false });
    } catch (err) {
      if ((err as { code?: string }).code !== 'ELOCKED') throw err;
      if (waited === 0) log.info({ lock: lockfilePath }, `another numacage is ${what}; waiting`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  const unregister = onInterrupt(() => release!().catch(() => undefined));
  try {
    return await fn();
  } finally {
    unregister();
    await release().catch(() => undefined);
  }
}
