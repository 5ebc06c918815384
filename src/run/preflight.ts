import { stat } from 'node:fs/promises';
import { loadRecipe } from '../adapters/image-builder.js';
import { loadFragments, type KernelRequest } from '../adapters/kernel-builder.js';
import { loadPatches, resolveSource } from '../adapters/kernel-source.js';
import { selftestFiles } from '../adapters/selftest-files.js';
import type { Logger } from '../log.js';
import { ConfigError } from '../model/errors.js';
import { touchedFiles } from '../kernel/patches.js';
import { kselftestSourceKnown, parseKselftestNames } from '../steps/kselftest.js';
import { parseUpload } from '../steps/steps.js';
import { assertUploadsExist } from './steps.js';
import { resolveTopology } from './resolve.js';

/** Everything run, repro and bisect are given, to be checked before the first build, boot or download. */
export interface Inputs {
  cacheDir: string;
  topologies: string[];
  image: string;
  /** The built kernels' requests. */
  builtKernels: Pick<KernelRequest, 'kernelSrc' | 'kernelRev' | 'patches' | 'fragments'>[];
  /** Whether a stock kernel is among the kernels: its kselftests come from Debian's source. */
  stockKernel?: boolean;
  /** --kselftest words; built from each kernel's source (Debian's for a stock kernel). */
  kselftests?: string[];
  /** --upload LOCAL[:GUEST] words. */
  uploads?: string[];
  /** --reproducer FILE. */
  reproducer?: string;
  /** How the command names its patches in messages: --patches, or repro's series. */
  patchesNamed?: string;
  log: Logger;
}

/**
 * Checks every input at once and throws one ConfigError naming every
 * problem: topologies, the image recipe, each built kernel's source,
 * patches and kconfig fragments, kselftest names against the sources they
 * are built from (and the files the patches add), uploads and the
 * reproducer. Reads files only: a second or two, nothing built or booted.
 */
export async function checkInputs(i: Inputs): Promise<void> {
  const problems: ConfigError[] = [];
  const attempt = async <T>(check: () => Promise<T> | T): Promise<T | undefined> => {
    try {
      return await check();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(err);
      return undefined;
    }
  };
  if (!i.topologies.length)
    problems.push(new ConfigError('--topology names no topology', 'name a built-in topology or a topology .json'));
  for (const t of new Set(i.topologies)) await attempt(() => resolveTopology(t));
  await attempt(() => loadRecipe(i.image));
  const seen = new Set<string>();
  const sources: { src: Awaited<ReturnType<typeof resolveSource>>; added: string[] }[] = [];
  for (const k of i.builtKernels) {
    const id = JSON.stringify(k);
    if (seen.has(id)) continue;
    seen.add(id);
    const src = await attempt(() => resolveSource(k.kernelSrc, k.kernelRev));
    const patches = await attempt(() => loadPatches(k.patches, i.patchesNamed));
    await attempt(() => loadFragments(k.fragments));
    if (src) sources.push({ src, added: (patches ?? []).flatMap((p) => touchedFiles(p.text)) });
  }
  if (i.kselftests?.length) {
    const names = await attempt(() => parseKselftestNames(i.kselftests!));
    if (i.stockKernel) {
      const debian = await attempt(() => resolveSource(undefined));
      if (debian) sources.push({ src: debian, added: [] });
    }
    for (const { src, added } of names?.length ? sources : []) {
      const files = await attempt(() => selftestFiles(i.cacheDir, src, i.log));
      if (!files) continue;
      const known = new Set([...files, ...added]);
      for (const n of names!)
        if (!kselftestSourceKnown(n, known))
          problems.push(
            new ConfigError(
              `--kselftest ${n.collection}/${n.program}: ${src.description} has no ${n.program}.c in tools/testing/selftests/${n.collection}${known.has(`tools/testing/selftests/${n.collection}/Makefile`) ? '' : ' (no such collection)'}`,
              'name a program of a tools/testing/selftests collection, e.g. mm/ksm_functional_tests, or a run_vmtests.sh category, e.g. mm:ksm',
            ),
          );
    }
  }
  if (i.uploads?.length) await attempt(() => assertUploadsExist(i.uploads!.map((u) => parseUpload(u, 'root'))));
  if (i.reproducer !== undefined) await attempt(() => assertRegularFile(i.reproducer!, '--reproducer'));
  // Two kernels of one source name a missing kselftest once.
  const distinct = problems.filter((p, n) => problems.findIndex((q) => q.message === p.message) === n);
  if (distinct.length === 1) throw distinct[0]!;
  if (distinct.length)
    throw new ConfigError(
      `${distinct.length} problems in the input:\n${distinct.map((p) => `  - ${p.message.replace(/\n/g, '\n    ')}${p.hint ? `\n    what to do: ${p.hint}` : ''}`).join('\n')}`,
      'fix each of them; nothing was built or booted',
    );
}

async function assertRegularFile(path: string, flag: string): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new ConfigError(`${flag} ${path}: no such file`, 'give a .c file or a script');
  if (!st.isFile()) throw new ConfigError(`${flag} ${path}: not a regular file`, 'give a .c file or a script');
}
