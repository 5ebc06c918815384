import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { openCache } from '../cache/sweep.js';
import { chooseAccel, type AccelChoice, type AccelRequest } from '../adapters/accel.js';
import { assertQemuInstalled } from '../adapters/qemu-process.js';
import { cpuArgument } from '../qemu/args.js';
import { ensureKernel, type KernelArtifact, type KernelRequest } from '../adapters/kernel-builder.js';
import { decodeStack } from '../adapters/stack-decoder.js';
import { writeReportFiles } from '../adapters/report-files.js';
import { ensureImage, loadRecipe, type ImageArtifact } from '../adapters/image-builder.js';
import { BootFailure, isStaleInt3 } from '../guest/boot-failure.js';
import { crashSignature } from '../console/crash-signature.js';
import type { Logger } from '../log.js';
import type { Verdict } from '../model/verdict.js';
import type { BootRequest, Guest } from '../guest/boot.js';
import { bootWithRetry, keepLostAttempt, supervise } from './supervise.js';
import { assembleVerdict, type RunSeen } from './assemble-verdict.js';
import { planRun, type InitMode, type PlanOptions, type RunPlan } from '../plan/run-plan.js';
import type { Topology } from '../model/topology.js';
import { ensureProbeBinary } from '../adapters/probe-binary.js';
import { assertTestpmdInstalled } from '../adapters/vhost-backend.js';
import { deviceKind } from '../topology/device-kinds.js';
import { resolveTopology } from './resolve.js';
import { assertUploadsExist, runSteps } from './steps.js';
import { resolveSteps, withKselftests, type StepOptions } from '../steps/steps.js';
import { parseKselftestNames } from '../steps/kselftest.js';
import { ensureKselftests } from '../adapters/kselftest-builder.js';
import { runChecks } from './checks.js';
import { CheckProgress } from './check-progress.js';
import { cellId } from '../matrix/cells.js';
import type { KernelProfile } from '../invariants/profile.js';

export interface RunOptions {
  cacheDir: string;
  /** Parent of the run directory. */
  outDir: string;
  topology: string;
  image: string;
  accel: AccelRequest;
  init: InitMode;
  /** Overrides the accelerator- and init-dependent default. */
  bootTimeoutSeconds?: number;
  /** Extra guest kernel command-line words. */
  append: string[];
  /** Invariant ids to check, from selectInvariants (the CLI default is the isolation suite). */
  invariants: string[];
  keep: boolean;
  kernel: KernelChoice;
  /** The matrix cell this run is (src/matrix/cells.ts); a lone run is its topology/kernel. */
  cell?: string;
  /** --exec, --upload, --as, --step-timeout: test steps after the invariants. */
  steps?: StepOptions;
  log: Logger;
}

/** 'stock' boots the image's Debian kernel with its initramfs; 'built' builds (or finds) a kernel and boots its bzImage directly. */
/** label names the choice in a matrix and in compare (stock, built, built:private-node). */
export type KernelChoice = (
  { kind: 'stock' } | ({ kind: 'built' } & Pick<KernelRequest, 'kernelSrc' | 'kernelRev' | 'patches' | 'fragments'>)
) & {
  label?: string;
  /** --expect: the profile this kernel is judged by (else inferred from the request). */ expect?: KernelProfile;
};

/** How a cell and the reports name a kernel: --kernel's word (stock, built, built:private-node), else its kind. */
export const choiceLabel = (k: KernelChoice): string => k.label ?? k.kind;

interface BootKernel {
  kind: 'stock' | 'built';
  vmlinuz: string;
  initrd?: string;
  release: string;
  /** The .config of a built kernel, copied into the run dir. */
  config?: string;
  /** A built kernel with debug info: what decodes its crash stacks. */
  debug?: KernelArtifact['debug'];
}

export interface RunOutcome {
  verdict: Verdict;
  runDir: string;
  text: string;
}

/** 20261127-131051: how run, matrix, repro and bisect directories begin, so that they sort by time. */
export const timeStamp = (now = new Date()) => now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

function newRunId(topology: string, now = new Date()): string {
  return `${timeStamp(now)}-${topology.replace(/[^A-Za-z0-9._-]/g, '_')}-${Math.random().toString(16).slice(2, 6)}`;
}

const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;

export interface PreparedRun {
  /** The run as data; its argv is materialised at boot. */
  plan: RunPlan;
  /** The static guest probe, when the selected invariants need it. */
  probe?: { path: string; sha256: string };
  image: ImageArtifact;
  kernel: BootKernel;
  accel: AccelChoice;
  runId: string;
  runDir: string;
  timings: Record<string, number>;
}

/** Makes the image and kernel ready (building them if needed), picks the accelerator, plans the run and makes its directory. */
export async function prepareRun(opts: Omit<RunOptions, 'keep'>): Promise<PreparedRun> {
  await openCache(opts.cacheDir, opts.log);
  const topology = await resolveTopology(opts.topology);
  const recipe = await loadRecipe(opts.image);
  const options = planOptions(opts, topology, recipe.users);
  await assertUploadsExist(options.uploads);
  assertQemuInstalled();
  if (topology.devices.some((d) => deviceKind(d.kind).backend)) assertTestpmdInstalled();
  const timings: Record<string, number> = {};
  let t = Date.now();
  const image = await ensureImage({ recipe, cacheDir: opts.cacheDir, log: opts.log });
  timings.image = seconds(t);
  let kernel: BootKernel = {
    kind: 'stock',
    vmlinuz: image.stockKernel.vmlinuz,
    initrd: image.stockKernel.initrd,
    release: image.stockKernel.release,
  };
  if (opts.kernel.kind === 'built') {
    t = Date.now();
    const built = await ensureKernel({ ...opts.kernel, cacheDir: opts.cacheDir, log: opts.log });
    timings.kernel = seconds(t);
    kernel = {
      kind: 'built',
      vmlinuz: built.bzImage,
      release: built.release,
      config: built.config,
      ...(built.debug ? { debug: built.debug } : {}),
    };
  }
  const kselftests = parseKselftestNames(opts.steps?.kselftests ?? []);
  if (kselftests.length) {
    t = Date.now();
    const source =
      opts.kernel.kind === 'built'
        ? { kernelSrc: opts.kernel.kernelSrc, kernelRev: opts.kernel.kernelRev, patches: opts.kernel.patches }
        : {};
    const built = await ensureKselftests({ cacheDir: opts.cacheDir, log: opts.log, tests: kselftests, ...source });
    timings.kselftests = seconds(t);
    Object.assign(options, withKselftests(options, built.programs));
  }
  // Which checks run the probe depends on the kernel's profile too; building it is a cache hit but once.
  const probe = opts.invariants.some((id) => !['topology', 'abi'].includes(id))
    ? await ensureProbeBinary(opts.cacheDir)
    : undefined;
  const accel = await chooseAccel(opts.accel, opts.cacheDir, opts.log, kernel.vmlinuz);
  const plan = planRun(options, {
    image: { recipe: recipe.name, key: image.key, note: 'ready' },
    kernel: {
      kind: kernel.kind,
      vmlinuz: kernel.vmlinuz,
      initrd: kernel.initrd,
      note: `${kernel.kind} kernel ${kernel.release}`,
      ...(kernel.config ? { config: kernel.config } : {}),
    },
    accel,
  });
  const runId = newRunId(topology.name);
  const runDir = resolve(opts.outDir, runId);
  await mkdir(runDir, { recursive: true });
  opts.log.info({ runDir }, 'run started');
  if (kernel.config) await copyFile(kernel.config, join(runDir, 'kernel.config'));
  return { plan, image, kernel, accel, runId, runDir, timings, ...(probe ? { probe } : {}) };
}

/** What of the run's options goes into its plan; `plan` and `run` both take it from here. */
export function planOptions(
  opts: Pick<RunOptions, 'init' | 'append' | 'bootTimeoutSeconds' | 'invariants' | 'kernel' | 'steps'>,
  topology: Topology,
  imageUsers: string[],
): PlanOptions {
  return {
    topology,
    init: opts.init,
    append: opts.append,
    bootTimeoutSeconds: opts.bootTimeoutSeconds,
    checks: opts.invariants,
    kernelLabel: opts.kernel.label,
    ...resolveSteps(opts.steps, imageUsers),
  };
}

export const bootRequest = (p: PreparedRun, log: Logger): BootRequest => ({
  runDir: p.runDir,
  plan: p.plan,
  image: p.image,
  log,
});

/** image → boot → probe → evaluate → report. Failures of the guest are results; user and host errors throw. */
export async function runPipeline(opts: RunOptions): Promise<RunOutcome> {
  const t0 = Date.now();
  return executeRun(await prepareRun(opts), opts, t0);
}

/**
 * boot → probe → evaluate → report, for a run whose image and kernel are
 * ready, in named stages: boot (with the retry policy), supervise the checks
 * and steps against a crash or QEMU's exit, assemble the verdict, write the
 * report files.
 */
export async function executeRun(prepared: PreparedRun, opts: RunOptions, t0 = Date.now()): Promise<RunOutcome> {
  const { log } = opts;
  const { plan, kernel, runDir, timings } = prepared;
  let progress = new CheckProgress(opts.invariants, plan.steps);
  const seen: RunSeen = { end: { kind: 'done' }, crashes: [], bootRetries: [] };
  let guest: Guest | undefined;
  let failure: unknown;
  const context = { topology: plan.topology, runDir, log };
  const checks = {
    ...context,
    probe: prepared.probe,
    cmdline: plan.cmdline,
    ...(opts.kernel.expect ? { expect: opts.kernel.expect } : {}),
  };
  try {
    for (let attempt = 1; ; attempt++) {
      const running = await bootWithRetry(bootRequest(prepared, log), prepared.accel.accel, log, seen.bootRetries);
      guest = running;
      timings['boot-to-ssh'] = Math.round(running.bootToSshSeconds * 10) / 10;
      const t = Date.now();
      const work = (opts.invariants.length ? runChecks(running, checks, progress) : Promise.resolve()).then(() =>
        running.qemu.hasExited() ? undefined : runSteps(running, plan.uploads, context, progress),
      );
      const end = (seen.end = await supervise(running, work, progress, log));
      if (attempt === 1 && end.kind === 'kernel-crash' && isStaleInt3(end.crash, prepared.accel.accel)) {
        // Not the kernel's doing (docs/reliability.md): the whole run once more, on a fresh boot.
        log.warn({ crash: end.crash.title, during: end.during }, 'the guest hit a known TCG artifact; running again');
        guest = undefined;
        await running.close({ keep: false });
        await keepLostAttempt(runDir, seen.bootRetries, {
          reason: end.kind,
          message: `${end.crash.title}${end.during ? ` during ${end.during}` : ''}: the run started again`,
          consoleTail: end.crash.lines,
        });
        progress = new CheckProgress(opts.invariants, plan.steps);
        continue;
      }
      if (end.kind === 'done') await saveDmesg(running, runDir, log);
      timings.probe = seconds(t);
      break;
    }
  } catch (err) {
    if (err instanceof BootFailure) seen.bootFailure = err;
    // Host trouble: the reports are still written, then the error decides the exit code.
    else failure = err;
  } finally {
    await guest?.close({ keep: opts.keep });
  }
  if (guest) {
    guest.crashWatch.finish();
    seen.crashes = guest.crashWatch.crashes.map((c, i) => ({
      ...c,
      signature: crashSignature(c),
      ...withDuring(progress.duringCrash(i)),
    }));
  }
  const bootCrash = seen.bootFailure?.crash;
  if (bootCrash) seen.crashes.push({ ...bootCrash, signature: crashSignature(bootCrash) });
  if (kernel.debug)
    for (const c of seen.crashes) {
      const decoded = await decodeStack(c.lines, kernel.debug);
      if (decoded) c.decoded = decoded;
    }
  timings.total = seconds(t0);
  const verdict = assembleVerdict(verdictHeader(prepared, opts), seen, progress, failure);
  const written = await writeReportFiles(runDir, { kind: 'run', title: `numacage ${prepared.runId}`, verdict, runDir });
  if (failure) throw failure;
  return { verdict, runDir, text: written.get('summary.txt')! };
}

const withDuring = (during: string | undefined) => (during ? { during } : {});

/** What a verdict says before anything ran: the run, its cell, topology, kernel, accelerator, timings and artifacts. */
function verdictHeader(prepared: PreparedRun, opts: RunOptions): Verdict {
  const { plan, kernel, accel, runId, timings } = prepared;
  return {
    runId,
    cell: opts.cell ?? cellId(plan.topology.name, choiceLabel(opts.kernel)),
    topology: plan.topology.name,
    topologySpec: plan.topology,
    kernel: {
      kind: kernel.kind,
      release: kernel.release,
      path: kernel.vmlinuz,
      ...(plan.kernelLabel ? { label: plan.kernelLabel } : {}),
    },
    accel: {
      accel: accel.accel,
      cpuModel: cpuArgument(plan.topology, accel.accel, accel.cpuModel),
      ...(accel.kvm && !accel.kvm.usable ? { note: `KVM unusable: ${accel.kvm.reason}` } : {}),
    },
    checks: [],
    crashes: [],
    timings,
    artifacts: plan.artifacts,
  };
}

/** The guest's kernel log after the checks (OOM kills and all), kept as an artifact. */
async function saveDmesg(guest: Guest, runDir: string, log: Logger): Promise<void> {
  const r = await guest.exec('dmesg').catch((err: Error) => ({ exitCode: -1, stdout: '', stderr: err.message }));
  if (r.exitCode === 0) {
    await mkdir(join(runDir, 'probe'), { recursive: true });
    await writeFile(join(runDir, 'probe', 'dmesg.txt'), r.stdout);
  } else log.warn({ err: r.stderr }, 'could not record dmesg');
}
