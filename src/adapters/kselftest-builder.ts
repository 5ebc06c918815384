import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { ConfigError, InfraError } from '../model/errors.js';
import { ContentStore, manifestOf } from './cache-dir.js';
import { loadPatches, resolveSource, WorkTree } from './kernel-source.js';
import { withLock } from './locks.js';
import { outputBytes, runChecked, runCommand } from './runner.js';
import type { KselftestName, KselftestProgram } from '../steps/kselftest.js';

/** Bump when the way programs are built changes, so cached ones are built again. */
const KSELFTEST_FORMAT = 1;
/** kselftest's runner default when a collection has no `settings` file. */
const DEFAULT_KSELFTEST_TIMEOUT_SECONDS = 45;
/** What a collection's Makefile needs besides its own directory (lib.mk includes; mm's Makefile runs x86's check_cc.sh). */
const SELFTEST_SUPPORT = [
  'tools/testing/selftests/lib.mk',
  'tools/testing/selftests/kselftest.h',
  'tools/testing/selftests/kselftest_harness.h',
  'tools/testing/selftests/kselftest',
  'tools/testing/selftests/x86',
  'tools/include',
  'tools/arch',
  'tools/scripts',
  'mm/gup_test.h',
];

export interface KselftestArtifact {
  key: string;
  programs: KselftestProgram[];
  cached: boolean;
}

interface KselftestMeta {
  key: string;
  source: string;
  patches: string[];
  programs: (KselftestName & { timeoutSeconds: number })[];
  builtAt: string;
  buildSeconds: number;
  files?: Record<string, { size: number; mtimeMs: number; sha256: string }>;
}

export interface KselftestRequest {
  cacheDir: string;
  kernelSrc?: string;
  kernelRev?: string;
  patches?: string;
  tests: KselftestName[];
  log: Logger;
}

/**
 * Static builds of the named kselftest programs from the source tree (and
 * patches) of the kernel under test, cached by source, patches and names.
 * Built in a copy of the selftests (their Makefiles write into their own
 * directory) against `make headers` of the same tree.
 */
export async function ensureKselftests(req: KselftestRequest): Promise<KselftestArtifact> {
  const { log } = req;
  const resolved = await resolveSource(req.kernelSrc, req.kernelRev);
  const patches = await loadPatches(req.patches);
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const key = sha(
    JSON.stringify({
      KSELFTEST_FORMAT,
      source: resolved.key,
      patches: patches.map((p) => sha(p.text)),
      tests: req.tests,
    }),
  ).slice(0, 32);
  const store = new ContentStore(req.cacheDir, 'kselftests');
  const artifact = (meta: KselftestMeta, cached: boolean): KselftestArtifact => ({
    key,
    cached,
    programs: meta.programs.map((p) => ({ ...p, path: join(store.entryPath(key), p.collection, p.program) })),
  });
  const hit = await store.intactMeta<KselftestMeta>(key, { full: false, log });
  if (hit) {
    log.info({ key, tests: req.tests.length }, 'kselftests cache hit');
    return artifact(hit, true);
  }
  const tree = new WorkTree(req.cacheDir, resolved);
  return withLock(tree.dir, 'tree', 'building in this kernel tree', log, async () => {
    await tree.prepare(log);
    await tree.apply(patches);
    const started = Date.now();
    return store.build(key, async (staging) => {
      // Kernel uapi headers of this very tree (kselftests use newer ones than Debian's); incremental after the first time.
      const obj = join(tree.dir, 'kselftest-obj');
      log.info({ tests: req.tests.map((t) => `${t.collection}/${t.program}`) }, 'building kselftests (static)');
      await runChecked('make', ['-s', '-C', tree.src, `O=${obj}`, 'headers']);
      const copy = join(staging, 'build');
      const collections = [...new Set(req.tests.map((t) => t.collection))];
      await copyTreeParts(tree.src, copy, [
        ...SELFTEST_SUPPORT,
        ...collections.map((c) => `tools/testing/selftests/${c}`),
      ]);
      const programs: KselftestMeta['programs'] = [];
      for (const collection of collections) {
        const dir = join(copy, 'tools/testing/selftests', collection);
        const out = join(staging, 'out', collection);
        const mine = req.tests.filter((t) => t.collection === collection);
        await mkdir(out, { recursive: true });
        const r = await runCommand('make', [
          '-C',
          dir,
          `OUTPUT=${out}`,
          `KHDR_INCLUDES=-isystem ${obj}/usr/include`,
          'USERLDFLAGS=-static',
          ...mine.map((t) => join(out, t.program)),
        ]);
        if (r.exitCode !== 0) {
          const text = `${r.stdout}\n${r.stderr}`;
          const unknown = /No rule to make target '[^']*\/([^'/]+)'/.exec(text);
          if (unknown)
            throw new ConfigError(
              `--kselftest ${collection}/${unknown[1]}: tools/testing/selftests/${collection} has no such program`,
              `name a program its Makefile builds (ls ${join(tree.src, 'tools/testing/selftests', collection)})`,
            );
          throw new InfraError(
            `building kselftests in ${collection} failed:\n${text.trim().split('\n').slice(-12).join('\n')}`,
          );
        }
        const timeoutSeconds = await collectionTimeout(join(tree.src, 'tools/testing/selftests', collection));
        await mkdir(join(staging, collection), { recursive: true });
        for (const t of mine) {
          await copyFile(join(out, t.program), join(staging, collection, t.program));
          programs.push({ ...t, timeoutSeconds });
        }
      }
      await rm(join(staging, 'build'), { recursive: true, force: true });
      await rm(join(staging, 'out'), { recursive: true, force: true });
      const meta: KselftestMeta = {
        key,
        source: resolved.description,
        patches: patches.map((p) => p.name),
        programs,
        builtAt: new Date().toISOString(),
        buildSeconds: Math.round((Date.now() - started) / 100) / 10,
        files: await manifestOf(staging),
      };
      await writeFile(join(staging, 'meta.json'), JSON.stringify(meta, null, 2));
      await store.commit(staging, key);
      log.info({ seconds: meta.buildSeconds, programs: programs.length }, 'kselftests built');
      return artifact(meta, false);
    });
  });
}

/** Copies the given paths of a source tree (those that exist) to dest, keeping their layout. */
async function copyTreeParts(src: string, dest: string, parts: string[]): Promise<void> {
  await mkdir(dest, { recursive: true });
  const present = [];
  for (const p of parts) if ((await runCommand('test', ['-e', join(src, p)])).exitCode === 0) present.push(p);
  await runChecked('tar', ['-C', dest, '-xf', '-'], {
    input: await outputBytes('tar', ['-C', src, '-cf', '-', ...present]),
  });
}

async function collectionTimeout(dir: string): Promise<number> {
  const settings = await readFile(join(dir, 'settings'), 'utf8').catch(() => '');
  const m = /^timeout=(\d+)/m.exec(settings);
  return m ? Number(m[1]) : DEFAULT_KSELFTEST_TIMEOUT_SECONDS;
}
