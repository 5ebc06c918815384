import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ContentStore, entryProblems, readEntryMeta, type Manifest } from '../adapters/cache-dir.js';
import type { Logger } from '../log.js';

const KINDS = ['images', 'kernels'];

/**
 * `numacage cache verify`: every image and kernel entry hashed against the
 * sizes and sha256 recorded when it was built. A damaged entry is removed
 * (the next run builds it again); an entry from before manifests gets one.
 */
export async function verifyCache(cacheDir: string, log: Logger): Promise<{ text: string; ok: boolean }> {
  const lines: string[] = [];
  let ok = true;
  for (const kind of KINDS) {
    const store = new ContentStore(cacheDir, kind);
    const keys = (await readdir(join(cacheDir, kind)).catch(() => [] as string[]))
      .filter((k) => /^[0-9a-f]{16,}$/.test(k))
      .sort();
    for (const key of keys) {
      if (!(await store.has(key))) continue;
      const dir = store.entryPath(key);
      const meta = await readEntryMeta<{ files?: Manifest }>(dir);
      if (!meta) {
        ok = false;
        await store.remove(key);
        lines.push(`DAMAGED   ${kind}/${key}: meta.json is not a JSON object; removed, the next run builds it again`);
        continue;
      }
      const t = Date.now();
      if (!meta.files) {
        const adopted = await store.intactMeta(key, { full: true, log });
        lines.push(`recorded  ${kind}/${key}  ${summary(adopted!.files)} (built before manifests)`);
        continue;
      }
      const problems = await entryProblems(dir, meta.files, true);
      const took = `${((Date.now() - t) / 1000).toFixed(1)} s`;
      if (problems.length === 0) lines.push(`ok        ${kind}/${key}  ${summary(meta.files)}, hashed in ${took}`);
      else {
        ok = false;
        await store.remove(key);
        lines.push(`DAMAGED   ${kind}/${key}: ${problems.join('; ')}; removed, the next run builds it again`);
      }
    }
  }
  if (lines.length === 0) lines.push(`no image or kernel entries under ${cacheDir}`);
  return { text: `${lines.join('\n')}\n`, ok };
}

function summary(m: Manifest): string {
  const bytes = Object.values(m).reduce((s, f) => s + f.size, 0);
  return `${Object.keys(m).length} files, ${(bytes / 2 ** 20).toFixed(0)} MiB`;
}
