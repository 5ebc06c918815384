import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { onInterrupt } from './cleanup.js';
import { recordUse } from './cache-use.js';
import type { Logger } from '../log.js';
import { InfraError } from '../model/errors.js';

/** Size, mtime and sha256 of each file of a cache entry, by path inside it; kept in its meta.json as "files". */
export type Manifest = Record<string, { size: number; mtimeMs: number; sha256: string }>;

const META = 'meta.json';

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  return out.filter((f) => f !== META).sort();
}

/** The manifest of a finished entry (every file but meta.json). */
export async function manifestOf(dir: string): Promise<Manifest> {
  const m: Manifest = {};
  for (const f of await filesUnder(dir)) {
    const st = await stat(join(dir, f));
    m[f] = { size: st.size, mtimeMs: st.mtimeMs, sha256: await sha256File(join(dir, f)) };
  }
  return m;
}

/**
 * What is wrong with an entry against its manifest: a missing file, another
 * size, or (when full, or when the mtime moved) another sha256. Empty: intact.
 */
export async function entryProblems(dir: string, manifest: Manifest, full: boolean): Promise<string[]> {
  const problems: string[] = [];
  for (const [f, want] of Object.entries(manifest)) {
    const st = await stat(join(dir, f)).catch(() => undefined);
    if (!st) problems.push(`${f} is missing`);
    else if (st.size !== want.size) problems.push(`${f} is ${st.size} bytes, ${want.size} when built`);
    else if ((full || st.mtimeMs !== want.mtimeMs) && (await sha256File(join(dir, f))) !== want.sha256)
      problems.push(`${f} has another sha256 than when built`);
  }
  return problems;
}

/** --cache-dir, else $NUMACAGE_CACHE, else $XDG_CACHE_HOME/numacage, else ~/.cache/numacage. */
export function resolveCacheDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.NUMACAGE_CACHE) return env.NUMACAGE_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'numacage');
}

/** The cache dir exists and takes a file, or an InfraError naming it and why (exit 3, not an internal error). */
export async function assertCacheWritable(cacheDir: string): Promise<void> {
  const probe = join(cacheDir, `.write-test-${process.pid}`);
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    throw new InfraError(
      `the cache dir ${cacheDir} is not writable (${(err as Error).message.startsWith(code) ? (err as Error).message : `${code}: ${(err as Error).message}`})`,
      'give a writable --cache-dir or $NUMACAGE_CACHE, or free space on its filesystem',
    );
  }
}

/**
 * The name of a staging dir (`.staging-…`) or of an entry being removed
 * (`.removing-…`) beside the entries: it names the pid doing it, so that
 * `cache gc` tells a running build from the leftover of a dead one.
 */
export function transientName(what: 'staging' | 'removing', key: string): string {
  return `.${what}-${key.slice(0, 12)}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** A staging dir or an entry being removed: a transientName, one from before names had a pid, or a kernel tree's `<dir>.staging-<pid>`. */
export const isTransient = (name: string): boolean =>
  name.startsWith('.staging-') || name.startsWith('.removing-') || /\.staging-\d+$/.test(name);

/** The pid in a transientName or a kernel tree's `<dir>.staging-<pid>`; undefined for a name from before they had one. */
export function transientPid(name: string): number | undefined {
  const m = /^\.(?:staging|removing)-.*-(\d+)-[0-9a-f]{8}$|\.staging-(\d+)$/.exec(name);
  return m ? Number(m[1] ?? m[2]) : undefined;
}

/**
 * A content-addressed store: <root>/<kind>/<key>/. Entries are built in a
 * staging directory beside them and renamed into place, so an interrupted
 * build never leaves a half entry.
 */
export class ContentStore {
  constructor(
    readonly root: string,
    readonly kind: string,
  ) {}

  entryPath(key: string): string {
    return join(this.root, this.kind, key);
  }

  async has(key: string): Promise<boolean> {
    try {
      return (await stat(join(this.entryPath(key), 'meta.json'))).isFile();
    } catch {
      return false;
    }
  }

  /**
   * Records that this process uses the entry (so `cache gc` keeps it until
   * we exit), then whether it is there; if so, now is its last use.
   */
  async claim(key: string): Promise<boolean> {
    await recordUse(this.root, `${this.kind}/${key}`);
    if (!(await this.has(key))) return false;
    await this.touch(key);
    return true;
  }

  /** An entry's last use is the mtime of its meta.json, which no manifest covers. */
  async touch(key: string): Promise<void> {
    const now = new Date();
    await utimes(join(this.entryPath(key), META), now, now).catch(() => undefined);
  }

  /**
   * The entry's meta.json when the entry is complete and unaltered (a stat
   * per file; full: every file hashed too); undefined when it is absent or
   * damaged. A damaged entry is removed, so the caller builds it again; an
   * entry from before manifests gets one now.
   */
  async intactMeta<M extends object>(
    key: string,
    opts: { full: boolean; log: Logger },
  ): Promise<(M & { files: Manifest }) | undefined> {
    if (!(await this.claim(key))) return undefined;
    const dir = this.entryPath(key);
    const meta = await readEntryMeta<M & { files?: Manifest }>(dir);
    if (!meta) {
      opts.log.warn(
        { entry: dir },
        'cache entry has a meta.json cut short or not an object; removing it to build it again',
      );
      await this.remove(key);
      return undefined;
    }
    if (!meta.files) {
      opts.log.info({ entry: dir }, 'recording sizes and sha256 of an older cache entry');
      const adopted = { ...meta, files: await manifestOf(dir) };
      await writeMetaAtomically(dir, adopted);
      return adopted;
    }
    const problems = await entryProblems(dir, meta.files, opts.full);
    if (problems.length === 0) return meta as M & { files: Manifest };
    opts.log.warn({ entry: dir, problems }, 'cache entry is damaged; removing it to build it again');
    await this.remove(key);
    return undefined;
  }

  /** Moves the entry out of the way first, so no reader ever sees half of it. */
  async remove(key: string): Promise<void> {
    const doomed = join(this.root, this.kind, transientName('removing', key));
    await rename(this.entryPath(key), doomed).catch(() => undefined);
    await rm(doomed, { recursive: true, force: true });
  }

  /**
   * Fills a fresh staging dir for key (fill commits it when done). A failure
   * or an interrupt (SIGINT, SIGTERM) removes the staging dir, so no half
   * entry is left behind.
   */
  async build<T>(key: string, fill: (staging: string) => Promise<T>): Promise<T> {
    await recordUse(this.root, `${this.kind}/${key}`);
    const staging = await this.stage(key);
    const unregister = onInterrupt(() => this.discard(staging));
    try {
      return await fill(staging);
    } catch (err) {
      await this.discard(staging);
      throw err;
    } finally {
      unregister();
    }
  }

  async stage(key: string): Promise<string> {
    const dir = join(this.root, this.kind, transientName('staging', key));
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Moves a finished staging dir into place; meta.json must be written last by the caller. */
  async commit(staging: string, key: string): Promise<string> {
    const dest = this.entryPath(key);
    try {
      await rename(staging, dest);
    } catch (err) {
      // Another builder won the race with an identical entry: keep theirs.
      if (!(await this.has(key))) throw err;
      await rm(staging, { recursive: true, force: true });
    }
    await this.touch(key);
    return dest;
  }

  async discard(staging: string): Promise<void> {
    await rm(staging, { recursive: true, force: true });
  }
}

/** meta.json is what makes an entry an entry: replace it in one rename. */
async function writeMetaAtomically(dir: string, meta: object): Promise<void> {
  const tmp = join(dir, `.${META}.${process.pid}`);
  await writeFile(tmp, JSON.stringify(meta, null, 2));
  await rename(tmp, join(dir, META));
}

/**
 * An entry's meta.json, or undefined when it is missing, cut short or not a JSON object (a crash
 * mid-write, a disk that filled, a hand edit): such an entry is damaged, never an internal error.
 */
export async function readEntryMeta<M extends object>(dir: string): Promise<M | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(join(dir, META), 'utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    // Its file list is what verification and reuse trust: one numacage did not write makes the entry damaged.
    const files = (v as { files?: unknown }).files;
    return files === undefined || isManifest(files) ? (v as M) : undefined;
  } catch {
    return undefined;
  }
}

const isManifest = (v: unknown): v is Manifest =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every(
    (f: unknown) =>
      typeof f === 'object' &&
      f !== null &&
      typeof (f as Record<string, unknown>).size === 'number' &&
      typeof (f as Record<string, unknown>).mtimeMs === 'number' &&
      typeof (f as Record<string, unknown>).sha256 === 'string',
  );
