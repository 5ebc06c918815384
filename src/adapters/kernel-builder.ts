import { readUserFile } from './json-file.js';
import { createWriteStream, existsSync } from 'node:fs';
import { progressEvent } from '../model/progress.js';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { BuildError, ConfigError, InfraError, InterruptedError } from '../model/errors.js';
import type { Logger } from '../log.js';
import { describeMismatches, verifyConfig, type Fragment } from '../kernel/kconfig.js';
import { buildDirKey, kernelArtifactKey, kernelRequestKey } from '../kernel/keys.js';
import { firstBuildErrors, isWorkLine } from '../kernel/build-output.js';
import { ContentStore, manifestOf, type Manifest } from './cache-dir.js';
import { cancellable, trackChild } from './cancel.js';
import { projectPath } from './project.js';
import { runCommand } from './runner.js';
import { withLock } from './locks.js';
import { WorkTree, loadPatches, loadSeriesFragment, resolveSource } from './kernel-source.js';
import type { Patch } from '../kernel/patches.js';

export const DEFAULT_FRAGMENTS = ['guest-base', 'numa-mm'];
const BASE_CONFIG = 'tinyconfig';

export interface KernelRequest {
  cacheDir: string;
  /** A git work tree; default Debian's linux-source-6.12 tarball. */
  kernelSrc?: string;
  /** A commit of kernelSrc to build instead of its checkout (a series' base-commit, a bisect step). */
  kernelRev?: string;
  /** See loadPatches. */
  patches?: string;
  /** Fragment names under kconfigs/ or paths to .config files, merged in order. */
  fragments: string[];
  rebuild?: boolean;
  log: Logger;
}

export interface KernelArtifact {
  key: string;
  dir: string;
  bzImage: string;
  config: string;
  release: string;
  source: string;
  patches: { name: string; sha256: string }[];
  /** True when the artifact came from the cache. */
  cached: boolean;
  buildSeconds?: number;
  /** A kernel with debug info: its vmlinux and the tree's decode_stacktrace.sh, kept to decode crash stacks to file:line. */
  debug?: { vmlinux: string; decoder: string; basePath: string };
}

interface KernelMeta {
  key: string;
  release: string;
  source: string;
  patches: { name: string; sha256: string }[];
  fragments: string[];
  builtAt: string;
  buildSeconds: number;
  objectsBuilt: number;
  /** The source tree as the build dir's debug info names it (O= builds say <build>/../src): decode_stacktrace.sh strips it. Set for kernels with debug info. */
  debugBasePath?: string;
  files?: Manifest;
}

/** A kernel whose .config has debug info keeps vmlinux, so that its crash stacks can be decoded. */
const hasDebugInfo = (config: string) => /^CONFIG_DEBUG_INFO=y$/m.test(config);

/** An entry built before vmlinux was kept for debug-info kernels is incomplete: built again. */
async function lacksDebugFiles(dir: string, meta: KernelMeta): Promise<boolean> {
  return meta.debugBasePath === undefined && hasDebugInfo(await readFile(join(dir, 'config'), 'utf8').catch(() => ''));
}

export async function loadFragments(names: string[]): Promise<Fragment[]> {
  const out: Fragment[] = [];
  for (const n of names) {
    // guest-base and guest-base.config both name kconfigs/guest-base.config; anything else is a path.
    const builtin = projectPath('kconfigs', n.endsWith('.config') ? n : `${n}.config`);
    const path = n.includes('/') || (n.endsWith('.config') && !existsSync(builtin)) ? n : builtin;
    if (!existsSync(path))
      throw new ConfigError(
        `kconfig fragment "${n}" not found (${path})`,
        'name a fragment under kconfigs/ (without .config) or give a path to a .config file',
      );
    out.push({ name: n, text: readUserFile(path, '--kconfig') });
  }
  return out;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function artifactFrom(dir: string, meta: KernelMeta, cached: boolean): KernelArtifact {
  return {
    key: meta.key,
    dir,
    bzImage: join(dir, 'bzImage'),
    config: join(dir, 'config'),
    release: meta.release,
    source: meta.source,
    patches: meta.patches,
    cached,
    buildSeconds: meta.buildSeconds,
    ...(meta.debugBasePath !== undefined
      ? {
          debug: {
            vmlinux: join(dir, 'vmlinux'),
            decoder: join(dir, 'decode_stacktrace.sh'),
            basePath: meta.debugBasePath,
          },
        }
      : {}),
  };
}

/**
 * Returns the kernel for (source, patches, fragments), building it when
 * needed. A repeat request is a stat and a small read; a new request whose
 * final .config matches an existing artifact reuses it without compiling.
 */
export async function ensureKernel(req: KernelRequest): Promise<KernelArtifact> {
  const { log } = req;
  const { resolved, patches, fragments, store, aliasPath } = await resolveRequest(req);
  if (!req.rebuild) {
    const hit = await readAlias(aliasPath, store, { verifyWith: log });
    if (hit) {
      log.info(
        {
          kernel: hit.release,
          key: hit.key,
          ...progressEvent({ stage: 'kernel', state: 'cached', release: hit.release }),
        },
        'kernel cache hit',
      );
      return hit;
    }
  }

  const tree = new WorkTree(req.cacheDir, resolved);
  return withLock(tree.dir, 'tree', 'building in this kernel tree', log, async () => {
    await tree.prepare(log);
    await tree.apply(patches);
    if (patches.length) log.info({ patches: patches.length }, 'patches applied');
    const buildDir = join(tree.dir, `build-${buildDirKey(BASE_CONFIG, fragments)}`);
    const finalConfig = await configure(tree.src, buildDir, fragments, await configMemoName(patches), log);
    const key = kernelArtifactKey({ sourceKey: resolved.key, patches, finalConfig });
    const found = req.rebuild ? undefined : await store.intactMeta<KernelMeta>(key, { full: true, log });
    const same = found && !(await lacksDebugFiles(store.entryPath(key), found)) ? found : undefined;
    if (same) {
      await writeAlias(aliasPath, key);
      log.info(
        { kernel: same.release, key, ...progressEvent({ stage: 'kernel', state: 'cached', release: same.release }) },
        'kernel cache hit (same final .config)',
      );
      return artifactFrom(store.entryPath(key), same, true);
    }
    return store.build(key, async (staging) => {
      const started = Date.now();
      const objectsBuilt = await make(tree.src, buildDir, staging, join(req.cacheDir, 'ccache'), log);
      const buildSeconds = Math.round((Date.now() - started) / 100) / 10;
      const release = (await readFile(join(buildDir, 'include/config/kernel.release'), 'utf8')).trim();
      await copyFile(join(buildDir, 'arch/x86/boot/bzImage'), join(staging, 'bzImage'));
      await copyFile(join(buildDir, '.config'), join(staging, 'config'));
      await copyFile(join(buildDir, 'System.map'), join(staging, 'System.map'));
      const debug = hasDebugInfo(finalConfig);
      if (debug) {
        await copyFile(join(buildDir, 'vmlinux'), join(staging, 'vmlinux'));
        await copyFile(join(tree.src, 'scripts/decode_stacktrace.sh'), join(staging, 'decode_stacktrace.sh'));
      }
      for (const [i, p] of patches.entries()) {
        await mkdir(join(staging, 'patches'), { recursive: true });
        await writeFile(join(staging, 'patches', `${String(i + 1).padStart(4, '0')}.patch`), p.text);
      }
      const meta: KernelMeta = {
        key,
        release,
        source: resolved.description,
        patches: patches.map((p) => ({ name: p.name, sha256: sha256(p.text) })),
        fragments: fragments.map((f) => f.name),
        builtAt: new Date().toISOString(),
        buildSeconds,
        objectsBuilt,
        ...(debug ? { debugBasePath: `${buildDir}/../src` } : {}),
        files: await manifestOf(staging),
      };
      await writeFile(join(staging, 'meta.json'), JSON.stringify(meta, null, 2));
      const dir = await store.commit(staging, key);
      await writeAlias(aliasPath, key);
      log.info(
        {
          kernel: release,
          seconds: buildSeconds,
          objects: objectsBuilt,
          ...progressEvent({ stage: 'kernel', state: 'built', release, seconds: buildSeconds }),
        },
        'kernel built',
      );
      return artifactFrom(dir, meta, false);
    });
  });
}

async function resolveRequest(
  req: Pick<KernelRequest, 'cacheDir' | 'kernelSrc' | 'kernelRev' | 'patches' | 'fragments'>,
) {
  const resolved = await resolveSource(req.kernelSrc, req.kernelRev);
  const patches = await loadPatches(req.patches);
  const own = await loadSeriesFragment(req.patches);
  const fragments = [...(await loadFragments(req.fragments)), ...(own ? [own] : [])];
  const store = new ContentStore(req.cacheDir, 'kernels');
  const requestKey = kernelRequestKey({ sourceKey: resolved.key, patches, base: BASE_CONFIG, fragments });
  return { resolved, patches, fragments, store, aliasPath: join(req.cacheDir, 'kernels', 'requests', requestKey) };
}

/** Where the cache remembers which kernel this request gave (a file naming its entry). */
export async function requestAliasPath(
  req: Pick<KernelRequest, 'cacheDir' | 'kernelSrc' | 'kernelRev' | 'patches' | 'fragments'>,
): Promise<string> {
  return (await resolveRequest(req)).aliasPath;
}

/** The kernel already built for this request, without building or checking anything (for `numacage plan`). */
export async function findCachedKernel(
  req: Pick<KernelRequest, 'cacheDir' | 'kernelSrc' | 'kernelRev' | 'patches' | 'fragments'>,
): Promise<KernelArtifact | undefined> {
  const { store, aliasPath } = await resolveRequest(req);
  return readAlias(aliasPath, store);
}

/**
 * The entry a request's alias names; with verifyWith, only if every file
 * hashes as when built (a kernel is small), else a damaged entry is removed.
 * `plan` reads without verifying: it changes nothing.
 */
async function readAlias(
  aliasPath: string,
  store: ContentStore,
  opts: { verifyWith?: Logger } = {},
): Promise<KernelArtifact | undefined> {
  try {
    const key = (await readFile(aliasPath, 'utf8')).trim();
    const meta = opts.verifyWith
      ? await store.intactMeta<KernelMeta>(key, { full: true, log: opts.verifyWith })
      : (JSON.parse(await readFile(join(store.entryPath(key), 'meta.json'), 'utf8')) as KernelMeta);
    if (!meta || (await lacksDebugFiles(store.entryPath(key), meta))) return undefined;
    return artifactFrom(store.entryPath(key), meta, true);
  } catch {
    return undefined;
  }
}

async function writeAlias(aliasPath: string, key: string): Promise<void> {
  await mkdir(join(aliasPath, '..'), { recursive: true });
  await writeFile(`${aliasPath}.tmp`, key);
  await rename(`${aliasPath}.tmp`, aliasPath);
}

const MAKE_ARGS = (src: string, buildDir: string) => ['-C', src, `O=${buildDir}`, 'ARCH=x86_64'];

/**
 * The name under which a build dir remembers the final .config of a patch set: the patches and the
 * toolchain are all that differ between configurations in one build dir (its name holds the base and
 * the fragments, its tree the source), and Kconfig asks the compiler and the linker what they support.
 */
async function configMemoName(patches: Patch[]): Promise<string> {
  const version = async (tool: string) => (await runCommand(tool, ['--version'])).stdout.split('\n')[0] ?? '';
  const h = createHash('sha256');
  for (const part of [...patches.map((p) => p.text), await version('gcc'), await version('ld')])
    h.update(part).update('\0');
  return `${h.digest('hex').slice(0, 32)}.config`;
}

/**
 * tinyconfig + fragments (merge_config.sh) + olddefconfig, then checks every asked-for option stuck.
 * Returns the final .config. Those steps parse Kconfig four times (about 20 s: each parse runs gcc some
 * 90 times), so the result is remembered in the build dir and a patch set configured there before
 * takes it from there: the same inputs give the same .config.
 */
async function configure(
  src: string,
  buildDir: string,
  fragments: Fragment[],
  memoName: string,
  log: Logger,
): Promise<string> {
  const memo = join(buildDir, 'numacage-configs', memoName);
  if (existsSync(memo)) {
    await copyFile(memo, join(buildDir, '.config'));
    log.info({ memo }, 'kconfig skipped: this patch set was configured in this build dir before');
  } else await runKconfig(src, buildDir, fragments, memo);
  const finalConfig = await readFile(join(buildDir, '.config'), 'utf8');
  const mismatches = verifyConfig(fragments, finalConfig);
  if (mismatches.length)
    throw new ConfigError(
      `${mismatches.length} kconfig option(s) did not stick in the final .config (unmet dependency or not user-selectable):\n${describeMismatches(mismatches)}`,
      'enable the options they depend on in a fragment, or drop them',
    );
  return finalConfig;
}

async function runKconfig(src: string, buildDir: string, fragments: Fragment[], memo: string): Promise<void> {
  await mkdir(buildDir, { recursive: true });
  const fragDir = join(buildDir, 'numacage-fragments');
  await rm(fragDir, { recursive: true, force: true });
  await mkdir(fragDir);
  const fragPaths: string[] = [];
  for (const [i, f] of fragments.entries()) {
    const p = join(fragDir, `${i}.config`);
    await writeFile(p, f.text);
    fragPaths.push(p);
  }
  const steps: [string, string[], string][] = [
    ['make', [...MAKE_ARGS(src, buildDir), '-s', BASE_CONFIG], BASE_CONFIG],
    [
      join(src, 'scripts/kconfig/merge_config.sh'),
      ['-m', '-O', buildDir, join(buildDir, '.config'), ...fragPaths],
      'merge_config.sh',
    ],
    ['make', [...MAKE_ARGS(src, buildDir), '-s', 'olddefconfig'], 'olddefconfig'],
  ];
  for (const [cmd, args, what] of steps) {
    const r = await runCommand(cmd, args, { cwd: src });
    if (r.exitCode !== 0)
      throw new InfraError(
        `kernel ${what} failed:\n${(r.stderr || r.stdout).trim().split('\n').slice(-10).join('\n')}`,
      );
  }
  await mkdir(join(memo, '..'), { recursive: true });
  await copyFile(join(buildDir, '.config'), `${memo}.tmp`);
  await rename(`${memo}.tmp`, memo);
}

/** make bzImage with ccache, streaming progress; the full log goes to <staging>/build.log. Returns how many objects were built. */
async function make(src: string, buildDir: string, staging: string, ccacheDir: string, log: Logger): Promise<number> {
  const jobs = cpus().length;
  const logPath = join(staging, 'build.log');
  const logFile = createWriteStream(logPath);
  const estimatePath = join(buildDir, 'numacage-objects');
  const estimate = Number(await readFile(estimatePath, 'utf8').catch(() => '0')) || undefined;
  const child = execa('make', [...MAKE_ARGS(src, buildDir), `-j${jobs}`, 'CC=ccache gcc', 'bzImage'], {
    cwd: src,
    reject: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
    ...cancellable(),
    env: {
      CCACHE_DIR: ccacheDir,
      // Paths under the work dir are hashed relative to it, so another work tree with the same layout hits too.
      CCACHE_BASEDIR: join(buildDir, '..'),
      CCACHE_NOHASHDIR: '1',
      // A miss compiles once instead of preprocessing first: a cold lean build 738 s instead of 967 s (docs/ci.md).
      CCACHE_DEPEND: '1',
      CCACHE_MAXSIZE: ccacheMaxSize(),
      KBUILD_BUILD_USER: 'numacage',
      KBUILD_BUILD_HOST: 'numacage',
    },
  });
  trackChild(child);
  let objects = 0;
  let pending = '';
  const started = Date.now();
  let lastReport = started;
  let lastTick = started;
  log.info(
    { jobs, estimate: estimate ?? 'unknown', ...progressEvent({ stage: 'kernel', state: 'building' }) },
    'building kernel (make bzImage)',
  );
  child.all!.on('data', (d: Buffer) => {
    logFile.write(d);
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines) if (isWorkLine(l)) objects++;
    if (Date.now() - lastTick > 1000) {
      lastTick = Date.now();
      log.debug(
        {
          objects,
          of: estimate ?? '?',
          ...progressEvent({ stage: 'kernel', state: 'objects', done: objects, ...(estimate ? { estimate } : {}) }),
        },
        'kernel build objects',
      );
    }
    if (Date.now() - lastReport > 15_000) {
      lastReport = Date.now();
      const elapsed = Math.round((Date.now() - started) / 1000);
      log.info(
        {
          objects,
          of: estimate ?? '?',
          elapsed: `${elapsed}s`,
          ...progressEvent({ stage: 'kernel', state: 'objects', done: objects, ...(estimate ? { estimate } : {}) }),
        },
        'kernel build progress',
      );
    }
  });
  const r = await child;
  await new Promise((res) => logFile.end(res));
  if (r.isCanceled) throw new InterruptedError('make was stopped: numacage was interrupted');
  if (r.exitCode !== 0) {
    const text = await readFile(logPath, 'utf8');
    const errors = firstBuildErrors(text);
    const keep = join(buildDir, 'last-failed-build.log');
    await copyFile(logPath, keep);
    throw new BuildError(
      `kernel build failed (make exit ${r.exitCode}):\n${(errors.length ? errors : text.trim().split('\n').slice(-10)).map((l) => `  ${l}`).join('\n')}\nfull log: ${keep}`,
    );
  }
  // Only a full build's count is a useful estimate for the next one.
  if (!estimate || objects > estimate) await writeFile(estimatePath, String(objects));
  return objects;
}

/** ccache's own limit: the user's $CCACHE_MAXSIZE, else 5G (it trims itself; `cache gc` leaves it alone). */
export const ccacheMaxSize = (): string => process.env.CCACHE_MAXSIZE ?? '5G';
