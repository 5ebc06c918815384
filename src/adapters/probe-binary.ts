import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, InfraError } from '../model/errors.js';
import { existsSync } from 'node:fs';
import { ContentStore } from './cache-dir.js';
import { projectPath } from './project.js';
import { runCommand } from './runner.js';

/** The probe's sources: compiled together, and the cache key is over all of them. */
export const PROBE_SOURCES = [
  'guest/probe/probe.c',
  'guest/probe/net-echo.c',
  'guest/probe/swap-ra.c',
  'guest/probe/zpool.c',
  'guest/probe/probe.h',
];
const COMPILED = PROBE_SOURCES.filter((f) => f.endsWith('.c'));

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

/**
 * The static guest probe, compiled on the host into the cache, keyed by its
 * source. $NUMACAGE_PROBE_BINARY uploads another file in its place: the way
 * to prove that a broken probe turns checks into errors, never passes.
 */
export async function ensureProbeBinary(cacheDir: string): Promise<{ path: string; sha256: string }> {
  const override = process.env.NUMACAGE_PROBE_BINARY;
  if (override) {
    if (!existsSync(override))
      throw new ConfigError(
        `$NUMACAGE_PROBE_BINARY: ${override} does not exist`,
        'unset it, or point it at a file to upload as the guest probe',
      );
    return { path: override, sha256: await sha256(override) };
  }
  const hash = createHash('sha256');
  for (const f of PROBE_SOURCES) hash.update(`${f}\0`).update(await readFile(projectPath(f)));
  const key = hash.digest('hex').slice(0, 24);
  const store = new ContentStore(cacheDir, 'probe');
  const path = join(store.entryPath(key), 'numacage-probe');
  if (!(await store.claim(key))) {
    await store.build(key, async (staging) => {
      const out = join(staging, 'numacage-probe');
      const r = await runCommand('gcc', [
        '-O2',
        '-Wall',
        '-Wextra',
        '-Werror',
        '-static',
        '-o',
        out,
        ...COMPILED.map((f) => projectPath(f)),
      ]);
      if (r.exitCode !== 0)
        throw new InfraError(
          `building the guest probe failed:\n${r.stderr.trim()}`,
          'install gcc and libc6-dev (numacage doctor --install)',
        );
      await writeFile(join(staging, 'meta.json'), JSON.stringify({ key }));
      await store.commit(staging, key);
    });
  }
  return { path, sha256: await sha256(path) };
}
