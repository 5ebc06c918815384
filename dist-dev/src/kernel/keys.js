import { createHash } from 'node:crypto';
/** Bump when the kernel artifact layout or build recipe changes. */
export const KERNEL_FORMAT_VERSION = 1;
function digest(parts) {
    const h = createHash('sha256');
    for (const p of parts)
        h.update(p).update('\0');
    return h.digest('hex').slice(0, 32);
}
export function patchesDigest(patches) {
    return digest(patches.map((p) => p.text));
}
/**
 * What a build was asked for: source, patch bytes, base config and fragment
 * bytes in order. Maps to an artifact key without running make. Pure.
 */
export function kernelRequestKey(r) {
    return digest([`v${KERNEL_FORMAT_VERSION}`, r.sourceKey, patchesDigest(r.patches), r.base, ...r.fragments.map((f) => f.text)]);
}
/**
 * What a kernel is: source, patch bytes and the final .config. Fragment lists
 * that give the same .config (say, reordered) share one artifact. Pure.
 */
export function kernelArtifactKey(r) {
    return digest([`v${KERNEL_FORMAT_VERSION}`, r.sourceKey, patchesDigest(r.patches), r.finalConfig]);
}
/** The O= directory is shared by builds of one source with one fragment set, whatever the patches. */
export function buildDirKey(base, fragments) {
    return digest([base, ...fragments.map((f) => f.text)]).slice(0, 16);
}
//# sourceMappingURL=keys.js.map