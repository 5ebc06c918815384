import { join } from 'node:path';
import { resolveCacheDir } from '../../src/adapters/cache-dir.js';
import { ensureImage, loadRecipe, type ImageArtifact } from '../../src/adapters/image-builder.js';
import { DEFAULT_FRAGMENTS, ensureKernel, type KernelArtifact } from '../../src/adapters/kernel-builder.js';
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
