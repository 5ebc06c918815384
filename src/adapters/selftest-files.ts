import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Logger } from '../log.js';
import type { ResolvedSource } from './kernel-source.js';
import { runChecked } from './runner.js';

const SELFTESTS = 'tools/testing/selftests';

/**
 * The paths under tools/testing/selftests of a kernel source, to check
 * --kselftest names before anything is built. A git tree and an extracted
 * Debian source are read directly (a fraction of a second); Debian's
 * tarball, before its first extraction, is listed once (about 10 s: xz
 * cannot seek) and the list kept beside the extraction in the cache.
 */
export async function selftestFiles(cacheDir: string, src: ResolvedSource, log: Logger): Promise<string[]> {
  if (src.source.kind === 'git') return walk(src.source.path, SELFTESTS);
  const pristine = join(cacheDir, 'kernel-src', src.key);
  const fromTree = await walk(pristine, SELFTESTS).catch(() => undefined);
  if (fromTree?.length) return fromTree;
  const listPath = join(cacheDir, 'kernel-src', `${src.key}.selftests`);
  const cached = await readFile(listPath, 'utf8').catch(() => undefined);
  if (cached !== undefined) return cached.split('\n').filter(Boolean);
  log.info({ tarball: src.source.tarball }, "listing the kernel source's selftests (once, about 10 s)");
  const { stdout } = await runChecked('tar', ['-tJf', src.source.tarball, '--wildcards', `*/${SELFTESTS}/*`]);
  const files = stdout
    .split('\n')
    .filter((l) => l && !l.endsWith('/'))
    .map((l) => l.split('/').slice(1).join('/'));
  await runChecked('mkdir', ['-p', join(cacheDir, 'kernel-src')]);
  await writeFile(`${listPath}.tmp`, `${files.join('\n')}\n`);
  await rename(`${listPath}.tmp`, listPath);
  return files;
}

/** Every file under root/sub, as paths relative to root. */
async function walk(root: string, sub: string): Promise<string[]> {
  const entries = await readdir(join(root, sub), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name)));
}
