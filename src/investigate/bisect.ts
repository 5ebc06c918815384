import type { KernelProfile } from '../invariants/profile.js';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { runChecked, runCommand } from '../adapters/runner.js';
import { loadPatches } from '../adapters/kernel-source.js';
import { subjectOf } from '../kernel/patches.js';
import { ConfigError } from '../model/errors.js';
import { asExpected, type Verdict } from '../model/verdict.js';
import { checkInputs } from '../run/preflight.js';
import { runMatrix } from '../matrix/matrix.js';
import { timeStamp, type KernelChoice, type RunOptions } from '../run/run.js';
import { prepareReproducer } from './repro.js';
import type { StepOptions } from '../steps/steps.js';

/** What makes a kernel bad: a check that does not hold, a crash signature, or steps that fail (or make the kernel report). */
export type BisectCriterion = { check: string } | { crash: string } | { steps: true };

export interface BisectOptions extends Pick<
  RunOptions,
  'cacheDir' | 'outDir' | 'topology' | 'image' | 'accel' | 'init' | 'append' | 'bootTimeoutSeconds' | 'log'
> {
  /** --expect: the profile every step's kernel is judged by (else inferred from the request). */
  expect?: KernelProfile;
  criterion: BisectCriterion;
  /** What each step runs in the guest: a reproducer (FILE.c or a script) and/or commands. */
  reproducer?: string;
  exec: string[];
  stepTimeoutSeconds: number;
  fragments: string[];
  /** Guests per step: a step is bad if any is. */
  runs: number;
  /** Within a series: the patches. */
  patches?: string;
  /** Over git: the tree and the good and bad revisions. */
  kernelSrc?: string;
  good?: string;
  bad?: string;
}

interface BisectStep {
  /** "series@3" or a commit. */
  rev: string;
  subject: string;
  bad: boolean;
  why: string;
  buildSeconds: number;
  runDirs: string[];
}

export interface BisectOutcome {
  dir: string;
  steps: BisectStep[];
  firstBad?: { rev: string; subject: string };
  text: string;
}

/** Why a kernel's run is bad under the criterion, or undefined when it is good. Pure. */
export function badBecause(v: Verdict, c: BisectCriterion): string | undefined {
  if (v.bootFailure) return `the kernel did not boot (${v.bootFailure.reason})`;
  if ('check' in c) {
    const r = v.checks.find((x) => x.id === c.check);
    if (!r) return `no check ${c.check} in the run`;
    return asExpected(r.outcome) ? undefined : `${c.check}: ${r.outcome} (${r.summary})`;
  }
  if ('crash' in c) {
    const hit = v.crashes.find((x) => (x.signature ?? x.title).includes(c.crash));
    return hit ? `${hit.signature ?? hit.title}` : undefined;
  }
  const crash = v.crashes[0];
  if (crash)
    return `the kernel reported ${crash.signature ?? crash.title}${crash.during ? ` during ${crash.during}` : ''}`;
  const failed = v.checks.find((x) => x.command !== undefined && x.outcome !== 'pass' && x.outcome !== 'skip');
  return failed ? `${failed.id}: ${failed.outcome} (${failed.summary})` : undefined;
}

/** Boots `runs` guests of one kernel and judges them. */
async function judge(
  o: BisectOptions & { steps?: StepOptions },
  kernel: KernelChoice,
  dir: string,
): Promise<Omit<BisectStep, 'rev' | 'subject'>> {
  const invariants = 'check' in o.criterion ? [o.criterion.check] : [];
  const result = await runMatrix({
    cacheDir: o.cacheDir,
    log: o.log,
    outDir: dir,
    topologies: [o.topology],
    kernels: [kernel],
    guests: o.runs,
    image: o.image,
    accel: o.accel,
    init: o.init,
    append: o.append,
    bootTimeoutSeconds: o.bootTimeoutSeconds,
    keep: false,
    invariants,
    steps: o.steps,
  });
  const reasons = result.outcomes.map((x) => badBecause(x.verdict, o.criterion));
  const why = reasons.find(Boolean);
  const kernelSeconds = result.outcomes[0]?.verdict.timings.kernel ?? 0;
  return {
    bad: !!why,
    why: why ?? `good in ${result.outcomes.length} run(s)`,
    buildSeconds: kernelSeconds,
    runDirs: result.outcomes.map((x) => x.runDir),
  };
}

function render(steps: BisectStep[], firstBad: BisectOutcome['firstBad'], what: string): string {
  const lines = [`bisect ${what}: ${steps.length} step(s)`];
  for (const s of steps)
    lines.push(
      `  ${s.bad ? 'BAD ' : 'good'} ${s.rev.padEnd(14)} build ${s.buildSeconds.toFixed(1).padStart(6)} s  ${s.subject}\n       ${s.why}`,
    );
  lines.push(firstBad ? `first bad: ${firstBad.rev} ${firstBad.subject}` : 'no bad kernel found');
  return `${lines.join('\n')}\n`;
}

/**
 * The first patch of a series that makes the criterion fail: the whole
 * series is tried first (it must be bad), the base is taken as good, and
 * prefixes are halved from there, so n patches take at most log2(n)+1
 * builds; prefix builds are cached like any kernel.
 */
async function bisectSeries(o: BisectOptions & { steps?: StepOptions }, dir: string): Promise<BisectOutcome> {
  const patches = await loadPatches(o.patches);
  if (!patches.length) throw new ConfigError(`--patches ${o.patches}: no patches to bisect`);
  const subject = (k: number) =>
    k === 0 ? 'the base' : `[${k}/${patches.length}] ${subjectOf(patches[k - 1]!.text) ?? patches[k - 1]!.name}`;
  const steps: BisectStep[] = [];
  const tryPrefix = async (k: number) => {
    const kernel: KernelChoice = {
      kind: 'built',
      label: `@${k}`,
      fragments: o.fragments,
      ...(k ? { patches: `${o.patches}@${k}` } : {}),
      ...(o.expect ? { expect: o.expect } : {}),
    };
    o.log.info({ prefix: k, of: patches.length }, `bisect: trying ${subject(k)}`);
    const step = {
      rev: `${k === 0 ? 'base' : `@${k}`}`,
      subject: subject(k),
      ...(await judge(o, kernel, join(dir, `prefix-${k}`))),
    };
    steps.push(step);
    o.log.info({ prefix: k, bad: step.bad, why: step.why }, `bisect: ${subject(k)} is ${step.bad ? 'bad' : 'good'}`);
    return step.bad;
  };
  let lo = 0;
  let hi = patches.length;
  if (!(await tryPrefix(hi))) return { dir, steps, text: render(steps, undefined, o.patches!) };
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await tryPrefix(mid)) hi = mid;
    else lo = mid;
  }
  const firstBad = { rev: `@${hi}`, subject: subject(hi) };
  return { dir, steps, firstBad, text: render(steps, firstBad, o.patches!) };
}

/** git bisect between good and bad, driven in numacage's own clone of the tree (the user's checkout is never touched). */
async function bisectGit(o: BisectOptions & { steps?: StepOptions }, dir: string): Promise<BisectOutcome> {
  const src = resolve(o.kernelSrc!);
  const clone = join(dir, 'git');
  await runChecked('git', ['clone', '--quiet', '--shared', '--no-checkout', src, clone]);
  const git = (...args: string[]) => runCommand('git', ['-C', clone, ...args]);
  const start = await git('bisect', 'start', '--no-checkout', o.bad!, o.good!);
  if (start.exitCode !== 0)
    throw new ConfigError(
      `git bisect start ${o.bad} ${o.good} failed in a clone of ${src}:\n${start.stderr.trim()}`,
      'name two commits of the tree, the bad one first being a descendant of the good one',
    );
  const steps: BisectStep[] = [];
  let firstBad: BisectOutcome['firstBad'];
  try {
    for (;;) {
      const rev = (await runChecked('git', ['-C', clone, 'rev-parse', 'BISECT_HEAD'])).stdout.trim();
      const subject = (await runChecked('git', ['-C', clone, 'log', '-1', '--format=%s', rev])).stdout.trim();
      o.log.info({ rev }, `bisect: trying ${rev.slice(0, 12)} ${subject}`);
      const kernel: KernelChoice = {
        kind: 'built',
        label: rev.slice(0, 12),
        kernelSrc: src,
        kernelRev: rev,
        fragments: o.fragments,
        ...(o.expect ? { expect: o.expect } : {}),
      };
      const step = { rev: rev.slice(0, 12), subject, ...(await judge(o, kernel, join(dir, rev.slice(0, 12)))) };
      steps.push(step);
      const next = await git('bisect', step.bad ? 'bad' : 'good');
      const found = /^([0-9a-f]{40}) is the first bad commit/m.exec(next.stdout);
      if (found) {
        firstBad = {
          rev: found[1]!.slice(0, 12),
          subject: (await runChecked('git', ['-C', clone, 'log', '-1', '--format=%s', found[1]!])).stdout.trim(),
        };
        break;
      }
      if (next.exitCode !== 0) throw new ConfigError(`git bisect stopped: ${(next.stdout + next.stderr).trim()}`);
    }
  } finally {
    await rm(clone, { recursive: true, force: true });
  }
  return { dir, steps, firstBad, text: render(steps, firstBad, `${o.good}..${o.bad}`) };
}

export async function bisectCommand(o: BisectOptions): Promise<BisectOutcome> {
  const overGit = o.good !== undefined || o.bad !== undefined;
  if (overGit && (!o.kernelSrc || !o.good || !o.bad))
    throw new ConfigError('bisecting over git needs --kernel-src, --good and --bad');
  if (!overGit && !o.patches)
    throw new ConfigError('numacage bisect needs --patches SERIES, or --kernel-src with --good and --bad');
  await checkInputs({
    cacheDir: o.cacheDir,
    log: o.log,
    topologies: [o.topology],
    image: o.image,
    reproducer: o.reproducer,
    builtKernels: overGit
      ? [o.good!, o.bad!].map((rev) => ({ kernelSrc: o.kernelSrc, kernelRev: rev, fragments: o.fragments }))
      : [{ kernelSrc: o.kernelSrc, patches: o.patches, fragments: o.fragments }],
  });
  const dir = resolve(o.outDir, `${timeStamp()}-bisect`);
  await mkdir(dir, { recursive: true });
  const started = Date.now();
  const reproducer = o.reproducer ? await prepareReproducer(o.reproducer, dir) : undefined;
  const exec = [...(reproducer ? [`./${basename(reproducer.path)}`] : []), ...o.exec];
  const withSteps = {
    ...o,
    ...(exec.length
      ? {
          steps: {
            exec,
            uploads: reproducer ? [reproducer.path] : [],
            kselftests: [],
            as: 'root' as const,
            stepTimeoutSeconds: o.stepTimeoutSeconds,
          },
        }
      : {}),
  };
  const outcome = overGit ? await bisectGit(withSteps, dir) : await bisectSeries(withSteps, dir);
  const seconds = Math.round((Date.now() - started) / 1000);
  await writeFile(join(dir, 'bisect.log'), outcome.text);
  await writeFile(
    join(dir, 'bisect.json'),
    `${JSON.stringify({ criterion: o.criterion, seconds, steps: outcome.steps, firstBad: outcome.firstBad ?? null }, null, 2)}\n`,
  );
  return { ...outcome, text: `${outcome.text}wall time ${seconds} s; log: ${join(dir, 'bisect.log')}\n` };
}
