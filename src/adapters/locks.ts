import { mkdir } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import type { Logger } from '../log.js';
import { onInterrupt } from './cleanup.js';

const POLL_MS = 2000;
const STALE_MS = 20_000;
const UPDATE_MS = 5000;

/**
 * Holds `<dir>/<name>.lock` (proper-lockfile: an atomic mkdir, kept fresh
 * while held; one left by a dead process goes stale after 20 s and is taken
 * over by exactly one waiter) while fn runs. Waits, saying so once, while
 * another numacage holds it.
 */
export async function withLock<T>(
  dir: string,
  name: string,
  what: string,
  log: Logger,
  fn: () => Promise<T>,
): Promise<T> {
  const lockfilePath = `${dir}/${name}.lock`;
  let release: (() => Promise<void>) | undefined;
  for (let waited = 0; !release; waited++) {
    try {
      // Made again on every try: `cache gc` may remove dir (a work tree) while we wait.
      await mkdir(dir, { recursive: true });
      release = await lockfile.lock(dir, { lockfilePath, stale: STALE_MS, update: UPDATE_MS, realpath: false });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (code !== 'ELOCKED') throw err;
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

/** Takes `<dir>/<name>.lock` (dir must exist) without waiting: the release function, or undefined when another process holds it. */
export async function tryLock(dir: string, name: string): Promise<(() => Promise<void>) | undefined> {
  try {
    const release = await lockfile.lock(dir, {
      lockfilePath: `${dir}/${name}.lock`,
      stale: STALE_MS,
      update: UPDATE_MS,
      realpath: false,
    });
    return () => release().catch(() => undefined);
  } catch (err) {
    if ((err as { code?: string }).code === 'ELOCKED') return undefined;
    throw err;
  }
}

/** Whether a live process holds `<dir>/<name>.lock` (a stale one does not count). */
export async function lockHeld(dir: string, name: string): Promise<boolean> {
  return lockfile
    .check(dir, { lockfilePath: `${dir}/${name}.lock`, stale: STALE_MS, realpath: false })
    .catch(() => false);
}
