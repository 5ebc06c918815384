import { createHash } from 'node:crypto';
import type { Fragment } from './kconfig.js';
import type { Patch } from './patches.js';

/** Bump when the kernel artifact layout or build recipe changes. */
const KERNEL_FORMAT_VERSION = 1;

function digest(parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 32);
}

function patchesDigest(patches: Patch[]): string {
  return digest(patches.map((p) => p.text));
}

/**
 * What a build was asked for: source, patch bytes, base config and fragment
 * bytes in order. Maps to an artifact key without running make. Pure.
 */
export function kernelRequestKey(r: {
  sourceKey: string;
  patches: Patch[];
  base: string;
  fragments: Fragment[];
}): string {
  return digest([
    `v${KERNEL_FORMAT_VERSION}`,
    r.sourceKey,
    patchesDigest(r.patches),
    r.base,
    ...r.fragments.map((f) => f.text),
  ]);
}

/**
 * What a kernel is: source, patch bytes and the final .config. Fragment lists
 * that give the same .config (say, reordered) share one artifact. Pure.
 */
export function kernelArtifactKey(r: { sourceKey: string; patches: Patch[]; finalConfig: string }): string {
  return digest([`v${KERNEL_FORMAT_VERSION}`, r.sourceKey, patchesDigest(r.patches), r.finalConfig]);
}

/** The O= directory is shared by builds of one source with one fragment set, whatever the patches. */
export function buildDirKey(base: string, fragments: Fragment[]): string {
  return digest([base, ...fragments.map((f) => f.text)]).slice(0, 16);
}
