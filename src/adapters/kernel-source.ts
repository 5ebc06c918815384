import { readUserFile } from './json-file.js';
import { lstat, mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile, copyFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { ConfigError } from '../model/errors.js';
import type { Logger } from '../log.js';
import {
  looksLikeMbox,
  parseSeries,
  seriesFragmentFor,
  splitMbox,
  touchedFiles,
  type Patch,
} from '../kernel/patches.js';
import type { Fragment } from '../kernel/kconfig.js';
import { runChecked, runCommand } from './runner.js';
import { projectPath } from './project.js';
import { onInterrupt } from './cleanup.js';
import { recordUse } from './cache-use.js';

const DEBIAN_TARBALL = '/usr/src/linux-source-6.12.tar.xz';

/** A git source with rev is that commit alone; without, the checkout as it is (the user's changes included). */
type KernelSource = { kind: 'debian'; tarball: string } | { kind: 'git'; path: string; rev?: string };

export interface ResolvedSource {
  source: KernelSource;
  /** Identifies the exact source content: Debian package version, or git revision plus a digest of uncommitted changes. */
  key: string;
  description: string;
  /** The full commit of a git source. */
  revision?: string;
}

let installedVersion: string | undefined;

/** The installed linux-source-6.12's Debian version, or undefined; asked of dpkg once per process once installed. */
export async function debianSourceVersion(): Promise<string | undefined> {
  if (!installedVersion) {
    const r = await runCommand('dpkg-query', ['-W', '-f=${Version}', 'linux-source-6.12']);
    if (r.exitCode === 0 && r.stdout.trim()) installedVersion = r.stdout.trim();
  }
  return installedVersion;
}

/**
 * The source to build: Debian's tarball, or a git tree as it is checked out
 * (uncommitted and untracked changes included), or, with rev, that commit
 * of the tree alone (a series' base-commit, a bisect step).
 */
export async function resolveSource(src: string | undefined, rev?: string): Promise<ResolvedSource> {
  if (!src) {
    const version = await debianSourceVersion();
    if (!version || !(await exists(DEBIAN_TARBALL)))
      throw new ConfigError(
        `no --kernel-src given and Debian's ${DEBIAN_TARBALL} is missing`,
        'run `numacage doctor --install`, or pass --kernel-src PATH to a kernel git tree',
      );
    return {
      source: { kind: 'debian', tarball: DEBIAN_TARBALL },
      key: `debian-${version.replace(/[^A-Za-z0-9.+-]/g, '_')}`,
      description: `linux-source-6.12 ${version}`,
    };
  }
  const path = resolve(src);
  const at = await runCommand('git', ['-C', path, 'rev-parse', '--verify', `${rev ?? 'HEAD'}^{commit}`]);
  if (at.exitCode !== 0)
    throw rev
      ? new ConfigError(`--kernel-src ${src} has no commit ${rev}`, 'fetch it into the tree, or name a commit it has')
      : new ConfigError(
          `--kernel-src ${src} is not a git work tree with a commit`,
          'point it at a kernel git checkout',
        );
  if (!(await exists(join(path, 'Kconfig'))) || !(await exists(join(path, 'scripts/kconfig/merge_config.sh'))))
    throw new ConfigError(
      `--kernel-src ${src} does not look like a Linux tree (no Kconfig or scripts/kconfig/merge_config.sh)`,
    );
  const head = at.stdout.trim();
  if (rev)
    return {
      source: { kind: 'git', path, rev: head },
      key: `git-${head.slice(0, 16)}`,
      revision: head,
      description: `${path} at ${head.slice(0, 12)}`,
    };
  const diff = await runChecked('git', ['-C', path, 'diff', 'HEAD', '--binary'], { stripFinalNewline: false });
  const untracked = await untrackedFiles(path);
  const h = createHash('sha256').update(diff.stdout);
  for (const f of untracked) h.update(`\0${f}\0`).update(await readFile(join(path, f)));
  const dirty = diff.stdout || untracked.length ? `-dirty-${h.digest('hex').slice(0, 10)}` : '';
  return {
    source: { kind: 'git', path },
    key: `git-${head.slice(0, 16)}${dirty}`,
    revision: head,
    description: `${path} at ${head.slice(0, 12)}${dirty ? ' with uncommitted changes' : ''}`,
  };
}

/** Files git does not track and does not ignore: the user's new files, which a build must see too. */
async function untrackedFiles(repo: string): Promise<string[]> {
  const r = await runChecked('git', ['-C', repo, 'ls-files', '--others', '--exclude-standard', '-z']);
  return r.stdout.split('\0').filter(Boolean).sort();
}

/**
 * Makes dest by filling `<dest>.staging-<pid>` and renaming it into place:
 * a failure (a full disk, say) or an interrupt removes the staging dir, so
 * no half tree is left to be taken for a whole one, or to fill the disk again.
 */
async function staged(dest: string, fill: (staging: string) => Promise<unknown>): Promise<void> {
  const staging = `${dest}.staging-${process.pid}`;
  const discard = () => rm(staging, { recursive: true, force: true });
  await discard();
  const unregister = onInterrupt(discard);
  try {
    await fill(staging);
    await rename(staging, dest);
  } catch (err) {
    await discard();
    throw err;
  } finally {
    unregister();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * --patches X: a folder with a quilt series file or format-patch files, a
 * single .patch, or an mbox; X may be a name under patches/. X@K takes the
 * first K patches only (a prefix of a series, for bisecting or comparing).
 */
export async function loadPatches(spec: string | undefined, flag = '--patches'): Promise<Patch[]> {
  if (!spec) return [];
  const prefix = /^(.+)@(\d+)$/.exec(spec);
  if (prefix) {
    const all = await loadPatches(prefix[1], flag);
    const k = Number(prefix[2]);
    if (k < 1 || k > all.length)
      throw new ConfigError(
        `${flag} ${spec}: ${prefix[1]} has ${all.length} patch(es), so @${k} is no prefix of it`,
        `use @1 to @${all.length}`,
      );
    return all.slice(0, k);
  }
  const path = await patchSetPath(spec, flag);
  if ((await stat(path)).isDirectory()) {
    const files = await readdir(path);
    if (files.includes('series')) {
      const names = parseSeries(await readFile(join(path, 'series'), 'utf8'));
      const patches: Patch[] = [];
      for (const n of names) {
        const p = join(path, n);
        if (!(await exists(p))) throw new ConfigError(`${join(path, 'series')} lists ${n}, which is not in ${path}`);
        patches.push(...(await readPatchFile(p, n, flag)));
      }
      return patches;
    }
    const patchFiles = files.filter((f) => /\.(patch|diff)$/.test(f)).sort();
    if (patchFiles.length === 0)
      throw new ConfigError(`${flag} ${spec}: ${path} has no series file and no .patch files`);
    const out: Patch[] = [];
    for (const f of patchFiles) out.push(...(await readPatchFile(join(path, f), f, flag)));
    return out;
  }
  return readPatchFile(path, spec, flag);
}

async function patchSetPath(spec: string, flag: string): Promise<string> {
  const candidates = [resolve(spec), projectPath('patches', spec)];
  for (const c of candidates) if (await exists(c)) return c;
  throw new ConfigError(
    `${flag} ${spec}: no such file or folder (looked at ${candidates.join(' and ')})`,
    'name a folder under patches/, a .patch file or an mbox',
  );
}

/** The kconfig fragment a series folder carries for the options its patches add (docs: patches/README.md). */
const SERIES_FRAGMENT = 'kconfig';

/**
 * The series folder's `kconfig` fragment, merged after --kconfig's for every
 * kernel built with it; for a prefix (NAME@K), without the options that only
 * later patches add.
 */
export async function loadSeriesFragment(spec: string | undefined, flag = '--patches'): Promise<Fragment | undefined> {
  if (!spec) return undefined;
  const base = /^(.+)@\d+$/.exec(spec)?.[1] ?? spec;
  const dir = await patchSetPath(base, flag);
  const file = join(dir, SERIES_FRAGMENT);
  if (!(await stat(dir)).isDirectory() || !(await exists(file))) return undefined;
  const text = seriesFragmentFor(
    readUserFile(file, flag),
    await loadPatches(base, flag),
    await loadPatches(spec, flag),
  );
  return { name: join(base, SERIES_FRAGMENT), text };
}

async function readPatchFile(path: string, name: string, flag: string): Promise<Patch[]> {
  const text = readUserFile(path, flag);
  if (looksLikeMbox(text)) {
    const patches = splitMbox(text, name);
    // A git format-patch file is a one-message mbox; name it by its file.
    if (patches.length === 1) return [{ name, text: patches[0]!.text }];
    if (patches.length === 0) throw new ConfigError(`${path} is an mbox with no patch in it`);
    return patches;
  }
  if (!/^(--- |diff )/m.test(text)) throw new ConfigError(`${path} is not a patch (no diff in it)`);
  return [{ name, text }];
}

/** In <cache>/kernel-work/<key>/, its mtime the work tree's last use. */
export const LAST_USE = '.last-use';

/**
 * The tree numacage builds in: <cache>/kernel-work/<sourceKey>/src. Made once
 * (a hard-linked copy of the Debian extraction, or a shared clone of the git
 * tree whose base commit holds the user's uncommitted and untracked changes;
 * the user's checkout is never touched), then reset before each build: the
 * files the previous patch set touched come back from the pristine source or
 * the base commit with a fresh mtime, so make rebuilds exactly what the
 * patches change and the user's own edits survive every patch set.
 */
export class WorkTree {
  readonly dir: string;
  readonly src: string;
  private readonly pristine: string;
  private readonly appliedPath: string;
  /** Present once a git work tree has its base commit (trees made before that are made again). */
  private readonly baseMarker: string;

  constructor(
    readonly cacheDir: string,
    readonly resolved: ResolvedSource,
  ) {
    this.dir = join(cacheDir, 'kernel-work', resolved.key);
    this.src = join(this.dir, 'src');
    this.pristine = join(cacheDir, 'kernel-src', resolved.key);
    this.appliedPath = join(this.dir, 'applied.json');
    this.baseMarker = join(this.dir, 'base-commit');
  }

  /** Called with tree.lock held, before any use of the tree. */
  async prepare(log: Logger): Promise<void> {
    const s = this.resolved.source;
    const { key } = this.resolved;
    // Recorded before anything is looked at, so `cache gc` keeps both while we live (it also skips a tree whose tree.lock is held, as now).
    await recordUse(this.cacheDir, `kernel-work/${key}`, ...(s.kind === 'debian' ? [`kernel-src/${key}`] : []));
    // reset() needs it even when the work tree is there, so it comes back when `cache gc` removed it alone.
    if (s.kind === 'debian' && !(await exists(join(this.pristine, 'Makefile')))) {
      log.info({ tarball: s.tarball }, 'extracting kernel source (once)');
      await staged(this.pristine, async (staging) => {
        await mkdir(staging, { recursive: true });
        await runChecked('tar', ['-xf', s.tarball, '-C', staging, '--strip-components=1']);
      });
    }
    if (!((await exists(join(this.src, 'Makefile'))) && (s.kind === 'debian' || (await exists(this.baseMarker)))))
      await this.create(log);
    // Last uses, for `cache gc`: the work tree's .last-use (its dir's mtime moves with every tree.lock), the pristine
    // source's dir mtime (a file in it would be hard-linked into every work tree made from it).
    await writeFile(join(this.dir, LAST_USE), '');
    if (s.kind === 'debian') await utimes(this.pristine, new Date(), new Date());
  }

  private async create(log: Logger): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await rm(this.src, { recursive: true, force: true });
    const s = this.resolved.source;
    if (s.kind === 'debian') {
      await staged(this.src, (staging) => runChecked('cp', ['-al', this.pristine, staging]));
    } else {
      const head = this.resolved.revision!;
      log.info({ repo: s.path }, 'cloning the kernel tree (shared objects, once)');
      await staged(this.src, async (staging) => {
        await runChecked('git', ['clone', '--quiet', '--shared', '--no-checkout', s.path, staging]);
        await runChecked('git', ['-C', staging, 'checkout', '--quiet', '--detach', head]);
        const diff = s.rev
          ? { stdout: '' }
          : await runChecked('git', ['-C', s.path, 'diff', 'HEAD', '--binary'], { stripFinalNewline: false });
        if (diff.stdout) await runChecked('git', ['-C', staging, 'apply', '--binary', '-'], { input: diff.stdout });
        for (const f of s.rev ? [] : await untrackedFiles(s.path)) {
          await mkdir(dirname(join(staging, f)), { recursive: true });
          await copyFile(join(s.path, f), join(staging, f));
        }
        // The user's changes become the base commit: a reset restores them, never HEAD's version.
        await runChecked('git', ['-C', staging, 'add', '-A']);
        const id = ['-c', 'user.name=numacage', '-c', 'user.email=numacage@localhost'];
        await runChecked('git', [
          '-C',
          staging,
          ...id,
          'commit',
          '--quiet',
          '--no-verify',
          '--allow-empty',
          '-m',
          `numacage: base, ${s.path} at ${head.slice(0, 12)} with its uncommitted and untracked changes`,
        ]);
        await writeFile(this.baseMarker, (await runChecked('git', ['-C', staging, 'rev-parse', 'HEAD'])).stdout.trim());
      });
    }
    await writeFile(this.appliedPath, JSON.stringify({ files: [] }));
  }

  /** Undoes the previous patch set: its files come back from the pristine source with a new mtime; files it created go. */
  async reset(): Promise<void> {
    let files: string[];
    try {
      files = (JSON.parse(await readFile(this.appliedPath, 'utf8')) as { files: string[] }).files;
    } catch {
      files = [];
    }
    const s = this.resolved.source;
    for (const f of files) {
      const dest = join(this.src, f);
      await rm(dest, { force: true });
      for (const suffix of ['.orig', '.rej']) await rm(dest + suffix, { force: true });
      if (s.kind === 'debian') {
        const orig = join(this.pristine, f);
        if (await exists(orig)) {
          await mkdir(join(dest, '..'), { recursive: true });
          await copyFile(orig, dest);
        }
      }
    }
    if (s.kind === 'git' && files.length) {
      const tracked = await runCommand('git', ['-C', this.src, 'ls-files', '--', ...files]);
      const list = tracked.stdout.split('\n').filter(Boolean);
      if (list.length) await runChecked('git', ['-C', this.src, 'checkout', 'HEAD', '--', ...list]);
    }
    await writeFile(this.appliedPath, JSON.stringify({ files: [] }));
  }

  /**
   * Applies the patches in order, each checked with --dry-run first. A patch
   * that does not apply is a ConfigError naming it and the failed hunks, and
   * the tree is reset, so nothing of the series stays behind.
   */
  async apply(patches: Patch[]): Promise<void> {
    await this.reset();
    const touched = new Set<string>();
    for (const p of patches) {
      for (const f of touchedFiles(p.text)) touched.add(f);
      await writeFile(this.appliedPath, JSON.stringify({ files: [...touched] }));
      const args = ['-p1', '--batch', '--forward', '--no-backup-if-mismatch', '-d', this.src];
      const dry = await runCommand('patch', [...args, '--dry-run'], { input: p.text });
      if (dry.exitCode !== 0) {
        await this.reset();
        const detail = (dry.stdout + dry.stderr)
          .split('\n')
          .filter(
            (l) =>
              /FAILED|can't find file|No file to patch|Reversed|malformed|Only garbage/i.test(l) ||
              l.startsWith('patching file') ||
              l.startsWith('checking file'),
          )
          .join('\n');
        throw new ConfigError(
          `patch ${p.name} does not apply to ${this.resolved.description}:\n${detail.trim() || (dry.stdout + dry.stderr).trim()}`,
          'rebase the patch onto this source, or pick another --kernel-src',
        );
      }
      await runChecked('patch', args, { input: p.text });
    }
  }
}
