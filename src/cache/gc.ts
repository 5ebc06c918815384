import { lstat, mkdir, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { transientName } from '../adapters/cache-dir.js';
import { liveUses } from '../adapters/cache-use.js';
import { tryLock } from '../adapters/locks.js';
import type { Logger } from '../log.js';
import { ConfigError } from '../model/errors.js';
import { DAY_MS, entryId, formatBytes, formatLastUse, scanCache, type CacheEntry } from './ls.js';

export interface GcOptions {
  maxSizeBytes?: number;
  olderThanDays?: number;
  /** Say what would go, remove nothing. */
  dryRun?: boolean;
  log: Logger;
}

export interface GcResult {
  cacheDir: string;
  dryRun: boolean;
  maxSizeBytes?: number;
  olderThanDays?: number;
  /** In the order removed; why: "not used for N days", "least recently used, over --max-size", "left by a process that died". */
  removed: (CacheEntry & { why: string })[];
  /** Every entry still there (ccache included); those gc had to spare say why in inUse. */
  kept: CacheEntry[];
  /** As `cache ls` counts it: every entry but ccache and staging dirs, hard-linked files once. */
  bytesBefore: number;
  bytesAfter: number;
}

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** --max-size: bytes, or a number with K, M, G or T (binary: 1G = 1GiB = 1GB = 2^30 bytes), e.g. 20G, 500M, 1.5GiB, 1024. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+) *(?:([kmgt])(?:i?b)?|b)?$/i.exec(text.trim());
  if (!m)
    throw new ConfigError(
      `--max-size ${text}: not a size`,
      'give bytes, or a number with K, M, G or T (binary: 1G = 1 GiB), e.g. 20G, 500M, 1.5GiB',
    );
  return Math.floor(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]!);
}

/** --older-than: a positive number of days (0.5 is twelve hours). */
export function parseDays(text: string | number): number {
  const days = typeof text === 'number' ? text : /^\s*\d*\.?\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(days > 0) || !Number.isFinite(days))
    throw new ConfigError(`--older-than ${text}: not a positive number of days`, 'e.g. --older-than 30');
  return days;
}

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

/**
 * Removes one entry unless a live numacage uses it: undefined when it is
 * gone, else why it stays. Every use of a kernel tree, and of its pristine
 * source, holds the work tree's tree.lock, so holding it is enough there;
 * for the rest, a user records the entry before it looks at it, so after
 * moving the entry away the records are read again, and a user that came
 * in between gets it back (one that comes later finds it missing and
 * builds it again).
 */
async function removeEntry(cacheDir: string, e: CacheEntry): Promise<string | undefined> {
  if (e.kind === 'staging') return void (await rm(e.path, { recursive: true, force: true }));
  const user = async () => {
    const pids = (await liveUses(cacheDir)).get(`${e.kind}/${e.key}`);
    return pids && `pid ${pids.join(', ')}`;
  };
  const doomed = join(cacheDir, e.kind, transientName('removing', e.key));
  if (e.kind === 'kernel-work' || e.kind === 'kernel-src') {
    const workDir = join(cacheDir, 'kernel-work', e.key);
    const made = !(await exists(workDir));
    await mkdir(workDir, { recursive: true });
    const release = await tryLock(workDir, 'tree');
    if (!release) return 'tree.lock held';
    try {
      const why = await user();
      if (why) return why;
      // Gone meanwhile (another gc): then there is nothing to delete.
      if (e.kind === 'kernel-src') await rename(e.path, doomed).catch(() => undefined);
      else {
        // The lock stays, held, where a waiting build looks for it; the rest goes.
        await mkdir(doomed);
        for (const name of await readdir(workDir))
          if (name !== 'tree.lock') await rename(join(workDir, name), join(doomed, name));
      }
    } finally {
      await release();
      // Empty now, unless a build came in: then it stays.
      if (made || e.kind === 'kernel-work') await rmdir(workDir).catch(() => undefined);
    }
  } else {
    // A build of this image would wait for us (it finds it missing afterwards).
    const release = e.kind === 'images' ? await tryLock(join(cacheDir, 'images'), e.key) : async () => undefined;
    if (!release) return 'build lock held';
    try {
      const why = await user();
      if (why) return why;
      if (
        !(await rename(e.path, doomed).then(
          () => true,
          () => false,
        ))
      )
        return undefined;
      const late = await user();
      if (late) {
        // Unless the late user already built it again: then theirs stays.
        await rename(doomed, e.path).catch(() => rm(doomed, { recursive: true, force: true }));
        return late;
      }
    } finally {
      await release();
    }
  }
  await rm(doomed, { recursive: true, force: true });
  return undefined;
}

/**
 * `numacage cache gc`: removes every entry not used for more than
 * olderThanDays, then the least recently used ones until the cache is at
 * most maxSizeBytes; never one a live numacage uses (its record in
 * host/in-use, a held tree.lock or image build lock). Staging dirs left by
 * dead processes more than an hour ago go too. ccache trims itself.
 */
export async function gcCache(cacheDir: string, opts: GcOptions): Promise<GcResult> {
  const { entries, usage, account, totalBytes } = await scanCache(cacheDir);
  const now = Date.now();
  const removed: GcResult['removed'] = [];
  const gone = new Set<CacheEntry>();
  const remove = async (e: CacheEntry, why: string) => {
    const stays = opts.dryRun ? undefined : await removeEntry(cacheDir, e);
    if (stays) {
      e.inUse.push(stays);
      opts.log.info({ entry: entryId(e), inUse: stays }, 'cache entry in use: kept');
      return;
    }
    gone.add(e);
    if (usage.has(e)) account.drop(usage.get(e)!);
    removed.push({ ...e, why });
    if (!opts.dryRun) opts.log.info({ entry: entryId(e), bytes: e.bytes, why }, 'cache entry removed');
  };

  const byLastUse = entries.filter((e) => usage.has(e)).sort((a, b) => Date.parse(a.lastUse!) - Date.parse(b.lastUse!));
  const idleDays = (e: CacheEntry) => (now - Date.parse(e.lastUse!)) / DAY_MS;
  if (opts.olderThanDays !== undefined)
    for (const e of byLastUse)
      if (e.inUse.length === 0 && idleDays(e) > opts.olderThanDays)
        await remove(e, `not used for ${Math.floor(idleDays(e))} days`);
  if (opts.maxSizeBytes !== undefined)
    for (const e of byLastUse) {
      if (account.total <= opts.maxSizeBytes) break;
      if (e.inUse.length === 0 && !gone.has(e)) await remove(e, 'least recently used, over --max-size');
    }
  for (const e of entries)
    if (e.kind === 'staging' && e.inUse.length === 0) await remove(e, 'left by a process that died');

  if (!opts.dryRun) await dropAliases(cacheDir, new Set(removed.filter((e) => e.kind === 'kernels').map((e) => e.key)));
  return {
    cacheDir,
    dryRun: opts.dryRun ?? false,
    maxSizeBytes: opts.maxSizeBytes,
    olderThanDays: opts.olderThanDays,
    removed,
    kept: entries.filter((e) => !gone.has(e)),
    bytesBefore: totalBytes,
    bytesAfter: account.total,
  };
}

/** The request memos (kernels/requests) naming a removed kernel; harmless (a miss), but clutter. */
async function dropAliases(cacheDir: string, keys: Set<string>): Promise<void> {
  if (keys.size === 0) return;
  const dir = join(cacheDir, 'kernels', 'requests');
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const key = await readFile(join(dir, name), 'utf8').catch(() => '');
    if (keys.has(key.trim())) await rm(join(dir, name), { force: true });
  }
}

export function renderGc(r: GcResult, now = Date.now()): string {
  const lines = r.removed.map(
    (e) =>
      `${r.dryRun ? 'would remove' : 'removed'}  ${entryId(e)}  ${formatBytes(e.bytes)}  last use ${formatLastUse(e.lastUse, now)}  (${e.why})`,
  );
  for (const e of r.kept)
    if (e.inUse.length && e.kind !== 'staging')
      lines.push(`kept  ${entryId(e)}  ${formatBytes(e.bytes)}  in use: ${e.inUse.join(', ')}`);
  const freed = r.bytesBefore - r.bytesAfter;
  lines.push(
    `${r.removed.length ? `${r.dryRun ? 'would free' : 'freed'} ${formatBytes(freed)}: ` : 'nothing to remove: '}${formatBytes(r.bytesBefore)} -> ${formatBytes(r.bytesAfter)} in entries (ccache apart)` +
      (r.maxSizeBytes !== undefined ? `, --max-size ${formatBytes(r.maxSizeBytes)}` : ''),
  );
  if (r.maxSizeBytes !== undefined && r.bytesAfter > r.maxSizeBytes)
    lines.push('still over --max-size: what is left is in use');
  return `${lines.join('\n')}\n`;
}
