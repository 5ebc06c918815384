import { ccacheMaxSize } from '../adapters/kernel-builder.js';
import { lstatSync, readdirSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isTransient, readEntryMeta, transientPid } from '../adapters/cache-dir.js';
import { liveUses } from '../adapters/cache-use.js';
import { lockHeld } from '../adapters/locks.js';
import { LAST_USE } from '../adapters/kernel-source.js';
import { PROBE_SOURCES } from '../adapters/probe-binary.js';
import { processAlive } from '../adapters/runner.js';

/** Built entries (the mtime of <kind>/<key>/meta.json is their last use), then kernel trees (kernel-work/<key>/.last-use, kernel-src/<key>/ itself). */
const STORE_KINDS = ['images', 'kernels', 'kselftests', 'probe'] as const;
const TREE_KINDS = ['kernel-work', 'kernel-src'] as const;
type EntryKind = (typeof STORE_KINDS)[number] | (typeof TREE_KINDS)[number];
export const CACHE_KINDS: readonly EntryKind[] = [...STORE_KINDS, ...TREE_KINDS];

export interface CacheEntry {
  /** 'staging': a build's dir not yet in place, or an entry being removed (its leftover when its process died); its key is where it is. */
  kind: EntryKind | 'ccache' | 'staging';
  key: string;
  path: string;
  /** Disk usage: allocated blocks (st.blocks * 512), so a sparse image counts only what it holds; a hard-linked file once. */
  bytes: number;
  /** The part of bytes in files hard-linked into another entry too (a Debian work tree's src/ and its kernel-src). */
  sharedBytes: number;
  /** ISO time of its last use (a hit or its build); none for ccache. */
  lastUse?: string;
  /** What it was made from, from its meta.json. */
  inputs: Record<string, unknown>;
  /** Why `cache gc` must keep it now ("pid 123", "tree.lock held", ...); empty when it may go. */
  inUse: string[];
}

export interface CacheListing {
  cacheDir: string;
  entries: CacheEntry[];
  /** All entries but ccache and staging dirs, each hard-linked file once: what `cache gc --max-size` bounds. */
  totalBytes: number;
}

const HOUR_MS = 3600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Blocks of files hard-linked elsewhere ("dev:ino" to bytes) apart from the rest, so that shared files count once. */
export interface Usage {
  own: number;
  linked: Map<string, number>;
}

const bytesOf = (u: Usage) => [...u.linked.values()].reduce((s, b) => s + b, u.own);

/**
 * Disk usage of a tree, without the top-level names skip says. Synchronous:
 * a work tree has 200k files, and a promise per lstat takes several times
 * as long. Files that vanish meanwhile count nothing.
 */
function diskUsage(path: string, skip: (name: string) => boolean = () => false): Usage {
  const u: Usage = { own: 0, linked: new Map() };
  const walk = (p: string, top: boolean): void => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (!st.isDirectory() && st.nlink > 1) u.linked.set(`${st.dev}:${st.ino}`, st.blocks * 512);
    else u.own += st.blocks * 512;
    if (!st.isDirectory()) return;
    let names: string[] = [];
    try {
      names = readdirSync(p);
    } catch {
      // Gone meanwhile.
    }
    for (const n of names) if (!(top && skip(n))) walk(join(p, n), false);
  };
  walk(path, true);
  return u;
}

/** The disk usage of a set of entries, a file hard-linked from several counted once, as entries come and go. */
export class DiskAccount {
  total = 0;
  private readonly refs = new Map<string, { bytes: number; n: number }>();

  add(u: Usage): void {
    this.total += u.own;
    for (const [ino, bytes] of u.linked) {
      const r = this.refs.get(ino);
      if (r) r.n++;
      else {
        this.refs.set(ino, { bytes, n: 1 });
        this.total += bytes;
      }
    }
  }

  drop(u: Usage): void {
    this.total -= u.own;
    for (const ino of u.linked.keys()) {
      const r = this.refs.get(ino)!;
      if (--r.n === 0) {
        this.refs.delete(ino);
        this.total -= r.bytes;
      }
    }
  }

  shared(u: Usage): number {
    let bytes = 0;
    for (const [ino, b] of u.linked) if (this.refs.get(ino)!.n > 1) bytes += b;
    return bytes;
  }
}

/** kind/key, or for a staging dir where it is. */
export const entryId = (e: CacheEntry) => (e.kind === 'staging' ? e.key : `${e.kind}/${e.key}`);

async function dirsIn(dir: string): Promise<string[]> {
  const all = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return all
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

// A meta.json is read field by field, each only as the type numacage wrote (a hand-edited one lists what it can).
const field = (v: unknown, k: string): unknown =>
  v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
const texts = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const each = (v: unknown, f: (x: unknown) => unknown) => texts(Array.isArray(v) ? v.map(f) : []);

function inputsOf(
  kind: EntryKind,
  key: string,
  meta: Record<string, unknown> | undefined,
  children: string[],
): Record<string, unknown> {
  if (kind === 'kernel-work') return { source: key, buildDirs: children.filter((c) => c.startsWith('build-')).length };
  if (kind === 'kernel-src') return { source: key };
  if (!meta) return { incomplete: 'no meta.json, or one that is not a JSON object' };
  switch (kind) {
    case 'images':
      return {
        recipe: text(field(meta.recipe, 'name')),
        packages: texts(field(meta.recipe, 'packages')),
        kernelPackage: text(meta.kernelPackage),
      };
    case 'kernels':
      return {
        release: text(meta.release),
        source: text(meta.source),
        patches: each(meta.patches, (p) => field(p, 'name')),
        fragments: texts(meta.fragments),
      };
    case 'kselftests':
      return {
        source: text(meta.source),
        patches: texts(meta.patches),
        programs: each(meta.programs, (p) =>
          typeof field(p, 'collection') === 'string' && typeof field(p, 'program') === 'string'
            ? `${field(p, 'collection') as string}/${field(p, 'program') as string}`
            : undefined,
        ),
      };
    case 'probe':
      return { source: PROBE_SOURCES.join(' ') };
  }
}

/**
 * Why a staging or removing dir may not go yet: its pid runs, or it is younger than an hour (a pid of
 * another PID namespace sharing the cache looks dead here; a name from before names had a pid has none).
 */
export function stagingInUse(pid: number | undefined, mtimeMs: number, now: number): string[] {
  if (pid && processAlive(pid)) return [`pid ${pid} (running)`];
  return now - mtimeMs < HOUR_MS ? ['younger than an hour'] : [];
}

/** Every entry of the cache with its disk usage, last use and inputs, and what keeps it now; plus the account gc keeps. */
export async function scanCache(
  cacheDir: string,
): Promise<CacheListing & { usage: Map<CacheEntry, Usage>; account: DiskAccount }> {
  const uses = await liveUses(cacheDir);
  const entries: CacheEntry[] = [];
  const usage = new Map<CacheEntry, Usage>();
  const account = new DiskAccount();
  const now = Date.now();

  const staging = async (kind: string, name: string, path: string) => {
    const pid = transientPid(name.replace(/^.*\//, ''));
    const mtime = (await stat(path).catch(() => undefined))?.mtimeMs ?? now;
    const inUse = stagingInUse(pid, mtime, now);
    entries.push({
      kind: 'staging',
      key: `${kind}/${name}`,
      path,
      bytes: bytesOf(diskUsage(path)),
      sharedBytes: 0,
      lastUse: new Date(mtime).toISOString(),
      inputs: { in: kind, ...(pid ? { pid } : {}) },
      inUse,
    });
  };

  for (const kind of CACHE_KINDS) {
    const kindDir = join(cacheDir, kind);
    for (const name of await dirsIn(kindDir)) {
      const path = join(kindDir, name);
      if (isTransient(name)) {
        await staging(kind, name, path);
        continue;
      }
      // kernels/requests is a memo of request to key; <key>.lock an image's build lock.
      if (name.startsWith('.') || name.endsWith('.lock') || (kind === 'kernels' && name === 'requests')) continue;
      const children = await readdir(path).catch(() => [] as string[]);
      const tree = kind === 'kernel-work' || kind === 'kernel-src';
      if (kind === 'kernel-work')
        for (const c of children.filter(isTransient)) await staging(kind, `${name}/${c}`, join(path, c));
      const metaPath = join(path, 'meta.json');
      const meta = tree ? undefined : await readEntryMeta<Record<string, unknown>>(path);
      const lastUsePath = meta
        ? metaPath
        : kind === 'kernel-work' && children.includes(LAST_USE)
          ? join(path, LAST_USE)
          : path;
      const lastUse = (await stat(lastUsePath).catch(() => undefined))?.mtime;
      if (!lastUse) continue;
      const inUse = (uses.get(`${kind}/${name}`) ?? []).map((pid) => `pid ${pid}`);
      if (tree && (await lockHeld(join(cacheDir, 'kernel-work', name), 'tree'))) inUse.push('tree.lock held');
      if (kind === 'images' && (await lockHeld(kindDir, name))) inUse.push('build lock held');
      const u = diskUsage(path, kind === 'kernel-work' ? isTransient : undefined);
      const entry: CacheEntry = {
        kind,
        key: name,
        path,
        bytes: bytesOf(u),
        sharedBytes: 0,
        lastUse: lastUse.toISOString(),
        inputs: inputsOf(kind, name, meta, children),
        inUse,
      };
      entries.push(entry);
      usage.set(entry, u);
      account.add(u);
    }
  }
  for (const [e, u] of usage) e.sharedBytes = account.shared(u);

  const ccache = join(cacheDir, 'ccache');
  if ((await dirsIn(cacheDir)).includes('ccache')) {
    const u = diskUsage(ccache);
    entries.push({
      kind: 'ccache',
      key: '',
      path: ccache,
      bytes: bytesOf(u),
      sharedBytes: 0,
      inputs: { maxSize: `${ccacheMaxSize()} (CCACHE_MAXSIZE): ccache trims itself` },
      inUse: [],
    });
  }
  return { cacheDir, entries, totalBytes: account.total, usage, account };
}

/** `numacage cache ls`: every entry with its disk usage, last use, inputs and whether it is in use. */
export async function listCache(cacheDir: string): Promise<CacheListing> {
  const { entries, totalBytes } = await scanCache(cacheDir);
  return { cacheDir, entries, totalBytes };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 || n >= 100 ? Math.round(n) : Number(n.toFixed(1))} ${units[i]}`;
}

export function formatLastUse(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const days = Math.floor((now - Date.parse(iso)) / DAY_MS);
  return `${iso.slice(0, 16).replace('T', ' ')}Z, ${days} day${days === 1 ? '' : 's'} ago`;
}

const list = (xs: unknown) => (Array.isArray(xs) ? (xs as string[]) : []);

/** One readable line of what an entry was made from. */
function describeInputs(e: CacheEntry): string {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the inputs inputsOf wrote, per kind
  const i = e.inputs as Record<string, any>;
  if (i.incomplete) return String(i.incomplete);
  const patches = (ps: string[]) =>
    ps.length
      ? `; ${ps.length} patch${ps.length === 1 ? '' : 'es'}: ${ps.map((p) => p.replace(/^\/\S*\//, '')).join(', ')}`
      : '';
  switch (e.kind) {
    case 'images':
      return `recipe ${i.recipe} (${list(i.packages).join(', ')}), ${i.kernelPackage}`;
    case 'kernels':
      return `${i.release} from ${i.source}; fragments ${list(i.fragments).join(', ')}${patches(list(i.patches))}`;
    case 'kselftests':
      return `${list(i.programs).join(', ')} from ${i.source}${patches(list(i.patches))}`;
    case 'probe':
      return `${i.source} (the key is its sha256)`;
    case 'kernel-work':
      return `work tree of ${i.source}, ${i.buildDirs} build dir(s)`;
    case 'kernel-src':
      return `extracted source of ${i.source}`;
    case 'staging':
      return `in ${i.in}: ${e.inUse.length ? 'a build or removal under way' : 'left by a process that died'}`;
    case 'ccache':
      return `compiler cache, max size ${i.maxSize}; gc leaves it alone`;
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function renderCacheList(listing: CacheListing, now = Date.now()): string {
  const rows = [['KIND', 'KEY', 'SIZE ON DISK', 'LAST USE', 'IN USE', 'INPUTS']];
  for (const e of listing.entries)
    rows.push([
      e.kind,
      e.key || '-',
      `${formatBytes(e.bytes)}${e.sharedBytes ? ` (${formatBytes(e.sharedBytes)} shared)` : ''}`,
      formatLastUse(e.lastUse, now),
      e.inUse.join(', ') || '-',
      describeInputs(e),
    ]);
  const counted = listing.entries.filter((e) => e.kind !== 'ccache' && e.kind !== 'staging');
  const kinds = CACHE_KINDS.map((k) => [k, counted.filter((e) => e.kind === k)] as const).filter(([, es]) => es.length);
  const ccache = listing.entries.find((e) => e.kind === 'ccache');
  const staging = listing.entries.filter((e) => e.kind === 'staging');
  const sum = (es: CacheEntry[]) => es.reduce((s, e) => s + e.bytes, 0);
  return [
    `cache ${listing.cacheDir} (sizes are disk usage: allocated blocks, so a sparse image counts only what it holds; hard-linked files once in totals)`,
    table(rows),
    `entries: ${counted.length} (${kinds.map(([k, es]) => `${k} ${es.length}`).join(', ') || 'none'}), ${formatBytes(listing.totalBytes)}` +
      `${ccache ? `; ccache ${formatBytes(ccache.bytes)}` : ''}${staging.length ? `; staging ${formatBytes(sum(staging))}` : ''}`,
    `in all: ${formatBytes(listing.totalBytes + (ccache?.bytes ?? 0) + sum(staging))}`,
    '',
  ].join('\n');
}
