import { readUserFile } from '../adapters/json-file.js';
import type { KernelProfile } from '../invariants/profile.js';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { runCommand } from '../adapters/runner.js';
import { loadPatches } from '../adapters/kernel-source.js';
import { ConfigError } from '../model/errors.js';
import type { Verdict } from '../model/verdict.js';
import { qemuWords, renderReply, reproduced } from '../report/reply.js';
import { subjectOf } from '../kernel/patches.js';
import { DEFAULT_STEP_TIMEOUT_SECONDS } from '../steps/steps.js';
import { runMatrix } from '../matrix/matrix.js';
import { resolveTopology } from '../run/resolve.js';
import { checkInputs } from '../run/preflight.js';
import { timeStamp, type RunOptions } from '../run/run.js';

export interface ReproOptions extends Pick<
  RunOptions,
  'cacheDir' | 'outDir' | 'topology' | 'image' | 'accel' | 'init' | 'append' | 'bootTimeoutSeconds' | 'log'
> {
  /** --expect: the profile both kernels are judged by, where checks run (else inferred from the request). */
  expect?: KernelProfile;
  /** An mbox (or anything --patches takes). */
  series: string;
  kernelSrc?: string;
  fragments: string[];
  /** A .c file (compiled static on the host) or a script, uploaded and run. */
  reproducer?: string;
  /** Commands instead of (or after) the reproducer. */
  exec: string[];
  repeat: number;
  forSeconds?: number;
  stepTimeoutSeconds?: number;
}

export interface ReproOutcome {
  dir: string;
  reproducedOnPatched: boolean;
  reproducedOnBase: boolean;
  text: string;
}

const BASE_COMMIT = /^base-commit: ([0-9a-f]{7,40})\s*$/m;

/** The reproducer in the repro dir, ready to upload, and how it was made. */
export async function prepareReproducer(
  file: string,
  dir: string,
): Promise<{ path: string; name: string; how: string; text: string }> {
  if (!existsSync(file)) throw new ConfigError(`--reproducer ${file}: no such file`, 'give a .c file or a script');
  const text = readUserFile(file, '--reproducer');
  if (extname(file) === '.c') {
    const path = join(dir, basename(file, '.c'));
    const cc = await runCommand('gcc', ['-static', '-O2', '-Wall', '-o', path, resolve(file)]);
    if (cc.exitCode !== 0)
      throw new ConfigError(
        `--reproducer ${file} does not compile:\n${cc.stderr.trim().split('\n').slice(-12).join('\n')}`,
        'fix it so that `gcc -static -O2` builds it',
      );
    return { path, name: basename(file), how: 'built with gcc -static -O2 on the host', text };
  }
  const path = join(dir, basename(file));
  await copyFile(file, path);
  await runCommand('chmod', ['755', path]);
  return { path, name: basename(file), how: 'run as a script', text };
}

async function gitIdentity(): Promise<string> {
  const get = async (k: string) => (await runCommand('git', ['config', '--get', k])).stdout.trim();
  const [name, email] = [await get('user.name'), await get('user.email')];
  return name && email ? `${name} <${email}>` : 'Your Name <you@example.org>';
}

/**
 * `numacage repro`: the series' base and the series side by side in two
 * guests, the reproducer run on each (N times, or in a loop for a while),
 * the console watched, and reply.txt written for the list.
 */
export async function reproCommand(o: ReproOptions): Promise<ReproOutcome> {
  if (!o.reproducer && !o.exec.length)
    throw new ConfigError('numacage repro needs something to run', 'give --reproducer FILE.c|FILE.sh or --exec CMD');
  await checkInputs({
    cacheDir: o.cacheDir,
    log: o.log,
    topologies: [o.topology],
    image: o.image,
    reproducer: o.reproducer,
    builtKernels: [{ kernelSrc: o.kernelSrc, patches: o.series, fragments: o.fragments }],
    patchesNamed: 'the series',
  });
  const patches = await loadPatches(o.series);
  const mbox = await readFile(resolve(o.series), 'utf8').catch(() => '');
  const base = BASE_COMMIT.exec(mbox)?.[1];
  const topology = await resolveTopology(o.topology);
  const dir = resolve(o.outDir, `${timeStamp()}-repro`);
  await mkdir(dir, { recursive: true });
  const reproducer = o.reproducer ? await prepareReproducer(o.reproducer, dir) : undefined;
  const once = [...(reproducer ? [`./${basename(reproducer.path)}`] : []), ...o.exec].join(' && ');
  const exec =
    o.forSeconds !== undefined
      ? [
          `end=$((SECONDS+${o.forSeconds})); n=0; while [ $SECONDS -lt $end ]; do ${once} || exit; n=$((n+1)); done; echo "$n runs"`,
        ]
      : Array.from({ length: o.repeat }, () => once);
  const stepTimeoutSeconds =
    o.stepTimeoutSeconds ?? (o.forSeconds !== undefined ? o.forSeconds + 60 : DEFAULT_STEP_TIMEOUT_SECONDS);
  const kernelRev = o.kernelSrc ? base : undefined;
  if (base && !o.kernelSrc)
    o.log.warn(
      { base },
      'the series names a base-commit; the Debian source is no git tree, so it is built on linux-source-6.12 as it is',
    );
  const expect = o.expect ? { expect: o.expect } : {};
  const result = await runMatrix({
    cacheDir: o.cacheDir,
    log: o.log,
    outDir: dir,
    topologies: [o.topology],
    image: o.image,
    accel: o.accel,
    init: o.init,
    append: o.append,
    bootTimeoutSeconds: o.bootTimeoutSeconds,
    keep: false,
    invariants: [],
    guests: 1,
    kernels: [
      { kind: 'built', label: 'base', kernelSrc: o.kernelSrc, kernelRev, fragments: o.fragments, ...expect },
      {
        kind: 'built',
        label: 'patched',
        kernelSrc: o.kernelSrc,
        kernelRev,
        patches: o.series,
        fragments: o.fragments,
        ...expect,
      },
    ],
    steps: { exec, uploads: reproducer ? [reproducer.path] : [], kselftests: [], as: 'root', stepTimeoutSeconds },
  });
  const verdictOf = (label: string): Verdict => result.outcomes.find((x) => x.verdict.kernel.label === label)!.verdict;
  const [baseVerdict, patchedVerdict] = [verdictOf('base'), verdictOf('patched')];
  const patchedRun = result.outcomes.find((x) => x.verdict === patchedVerdict)!;
  const qemu = qemuWords(await readFile(join(patchedRun.runDir, 'qemu-argv.txt'), 'utf8').catch(() => ''));
  const attachments = await writeAttachments(join(dir, 'attachments'), patchedRun.runDir, reproducer);
  const reply = renderReply({
    subjects: patches.map((p) => subjectOf(p.text) ?? p.name),
    source: o.kernelSrc
      ? `${resolve(o.kernelSrc)}${kernelRev ? ` at ${kernelRev}` : ''}`
      : `linux-source-6.12 (Debian), ${baseVerdict.kernel.release}`,
    ...(base ? { baseCommit: { commit: base, honoured: !!o.kernelSrc } } : {}),
    fragments: o.fragments,
    topology: {
      name: topology.name,
      nodes: topology.nodes.map(
        (n) =>
          `node ${n.id} ${n.memMiB} MiB ${n.backend.kind === 'memfd' ? `memfd share=${n.backend.share ? 'on' : 'off'}` : 'ram'} ${n.cpus.length ? `cpus ${n.cpus.join(',')}` : 'no CPUs'}`,
      ),
    },
    qemu,
    attachments,
    reproducer: reproducer
      ? { name: reproducer.name, how: reproducer.how, text: reproducer.text }
      : { name: o.exec.join(' && '), how: '--exec' },
    runs: o.forSeconds !== undefined ? { forSeconds: o.forSeconds } : { repeat: o.repeat },
    base: baseVerdict,
    patched: patchedVerdict,
    who: await gitIdentity(),
  });
  await writeFile(join(dir, 'reply.txt'), reply);
  const outcome = { dir, reproducedOnPatched: reproduced(patchedVerdict), reproducedOnBase: reproduced(baseVerdict) };
  await writeFile(
    join(dir, 'repro.json'),
    `${JSON.stringify({ ...outcome, series: resolve(o.series), base: baseVerdict, patched: patchedVerdict }, null, 2)}\n`,
  );
  const text = `${result.text}\nreproduces with the series: ${outcome.reproducedOnPatched ? 'yes' : 'no'}; on the base: ${outcome.reproducedOnBase ? 'yes' : 'no'}\nreply: ${join(dir, 'reply.txt')}\n`;
  return { ...outcome, text };
}

/** The patched kernel's .config and the reproducer's source, for the list: their names, in the order written. */
async function writeAttachments(
  dir: string,
  patchedRunDir: string,
  reproducer: { name: string; text?: string } | undefined,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names: string[] = [];
  const config = join(patchedRunDir, 'kernel.config');
  if (existsSync(config)) {
    await copyFile(config, join(dir, 'config'));
    names.push('config');
  }
  if (reproducer?.text !== undefined) {
    await writeFile(join(dir, basename(reproducer.name)), reproducer.text);
    names.push(basename(reproducer.name));
  }
  return names;
}
