import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { resolveCacheDir } from '../../src/adapters/cache-dir.js';
import { ensureImage, loadRecipe, type ImageArtifact } from '../../src/adapters/image-builder.js';
import {
  DEFAULT_FRAGMENTS,
  ensureKernel,
  requestAliasPath,
  type KernelArtifact,
} from '../../src/adapters/kernel-builder.js';
import { resolveSource } from '../../src/adapters/kernel-source.js';
import { ensureProbeBinary } from '../../src/adapters/probe-binary.js';
import { projectPath } from '../../src/adapters/project.js';
import { DEFAULT_IMAGE } from '../../src/image/recipe.js';
import { silentLogger } from '../../src/log.js';

// What a test needs from the user's cache (or $NUMACAGE_CACHE), through the cache API that `numacage run`
// uses: a hit when `npm test`'s prebuild (test/prebuild.ts) or an earlier run made it, built when missing.
// No test assumes that another test ran first.
export const userCache = resolveCacheDir();
const log = silentLogger();

export const theImage = async (): Promise<ImageArtifact> =>
  ensureImage({ recipe: await loadRecipe(DEFAULT_IMAGE), cacheDir: userCache, log });
export const theProbe = (): Promise<{ path: string; sha256: string }> => ensureProbeBinary(userCache);

/** The lean kernel (the default fragments), with a patch set under test/fixtures or patches/ when given. */
export const aLeanKernel = (patches?: string): Promise<KernelArtifact> =>
  ensureKernel({ cacheDir: userCache, log, fragments: DEFAULT_FRAGMENTS, ...(patches ? { patches } : {}) });

export const BANNER = projectPath('test/fixtures/patches/banner');
export const MBIND_WARN = projectPath('test/fixtures/series/mbind-warn/series.mbox');

/** Debian's linux-source-6.12 as extracted once into the cache (the lean kernel's build extracts it). */
export async function pristineKernelSource(): Promise<string> {
  await aLeanKernel();
  return join(userCache, 'kernel-src', (await resolveSource(undefined)).key);
}

/**
 * Copies (with their times) cache entries or files of the user's cache into another cache dir, under
 * the same relative paths, which it returns; and this host's KVM verdict, so that a run there does not
 * probe KVM again. For a test that changes a cache or must not share it with numacages it does not
 * start (npm test runs some files two at a time).
 */
export function copyIntoCache(cacheDir: string, paths: string[]): string[] {
  const hostDir = join(userCache, 'host');
  const kvm = existsSync(hostDir) ? readdirSync(hostDir).filter((f) => /^kvm-.*\.json$/.test(f)) : [];
  const copies = paths.map((p) => relative(userCache, p));
  for (const c of [...copies, ...kvm.map((f) => join('host', f))]) {
    mkdirSync(dirname(join(cacheDir, c)), { recursive: true });
    execFileSync('cp', ['-a', '--reflink=auto', join(userCache, c), join(cacheDir, c)]);
  }
  return copies;
}

/** The image, the probe and the lean kernel with its request alias (so that `--kernel built` hits), in cacheDir. */
export async function leanRunCache(cacheDir: string): Promise<void> {
  const kernel = await aLeanKernel();
  const alias = await requestAliasPath({ cacheDir: userCache, fragments: DEFAULT_FRAGMENTS });
  copyIntoCache(cacheDir, [(await theImage()).dir, dirname((await theProbe()).path), kernel.dir, alias]);
}
