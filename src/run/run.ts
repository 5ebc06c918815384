import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assertCacheWritable } from '../adapters/cache-dir.js';
import { chooseAccel, type AccelChoice, type AccelRequest } from '../adapters/accel.js';
import { assertQemuInstalled, sleep } from '../adapters/qemu-process.js';
import { ensureKernel, type KernelArtifact, type KernelRequest } from '../adapters/kernel-builder.js';
import { decodeStack } from '../adapters/stack-decoder.js';
import { ensureImage, loadRecipe, type ImageArtifact } from '../adapters/image-builder.js';
import { BootFailure, isTcgPatchingArtifact } from '../guest/boot-failure.js';
import { provokedByProbe } from '../console/crash-patterns.js';
import { crashSignature } from '../console/crash-signature.js';
import type { Logger } from '../log.js';
import type { Verdict } from '../model/verdict.js';
import { renderJson } from '../report/json.js';
import { renderHtml } from '../report/html.js';
import { renderJunit } from '../report/junit.js';
import { renderKtap } from '../report/ktap.js';
import { renderText } from '../report/text.js';
import { bootGuest, type BootRequest, type Guest } from '../guest/boot.js';
import { planRun, type InitMode, type PlanOptions, type RunPlan } from '../plan/run-plan.js';
import type { Topology } from '../model/topology.js';
import { ensureProbeBinary } from '../adapters/probe-binary.js';
import { resolveTopology } from './resolve.js';
import { assertUploadsExist, runSteps } from './steps.js';
import { resolveSteps, withKselftests, type StepOptions } from '../steps/steps.js';
import { parseKselftestNames } from '../steps/kselftest.js';
import { ensureKselftests } from '../adapters/kselftest-builder.js';
import { CheckProgress, runChecks } from './checks.js';
import { cellId } from '../matrix/cells.js';

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
) & { label?: string };

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

/** How long a panicking guest gets to print its whole report before numacage stops it. */
const PANIC_REPORT_GRACE_MS = 3000;

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
  await assertCacheWritable(opts.cacheDir);
  const topology = await resolveTopology(opts.topology);
  const recipe = await loadRecipe(opts.image);
  const options = planOptions(opts, topology, recipe.users);
  await assertUploadsExist(options.uploads);
  assertQemuInstalled();
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
  const probe = opts.invariants.some((id) => !['topology', 'abi'].includes(id)) ? await ensureProbeBinary(opts.cacheDir) : undefined;
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

export const bootRequest = (p: PreparedRun, log: Logger): BootRequest => ({ runDir: p.runDir, plan: p.plan, image: p.image, log });

/** image → boot → probe → evaluate → report. Failures of the guest are results; user and host errors throw. */
export async function runPipeline(opts: RunOptions): Promise<RunOutcome> {
  const t0 = Date.now();
  return executeRun(await prepareRun(opts), opts, t0);
}

/** boot → probe → evaluate → report, for a run whose image and kernel are ready. */
export async function executeRun(prepared: PreparedRun, opts: RunOptions, t0 = Date.now()): Promise<RunOutcome> {
  const { log } = opts;
  const { plan, kernel, accel, runId, runDir, timings } = prepared;
  const { topology } = plan;
  const boot = bootRequest(prepared, log);
  const verdict: Verdict = {
    runId,
    cell: opts.cell ?? cellId(topology.name, choiceLabel(opts.kernel)),
    topology: topology.name,
    topologySpec: topology,
    kernel: { kind: kernel.kind, release: kernel.release, path: kernel.vmlinuz, ...(plan.kernelLabel ? { label: plan.kernelLabel } : {}) },
    accel: {
      accel: accel.accel,
      cpuModel: accel.cpuModel,
      ...(accel.kvm && !accel.kvm.usable ? { note: `KVM unusable: ${accel.kvm.reason}` } : {}),
    },
    checks: [],
    crashes: [],
    timings,
    artifacts: plan.artifacts,
  };

  let guest: Guest | undefined;
  const progress = new CheckProgress(opts.invariants, plan.steps);
  let stopped: string | undefined;
  let kernelCrashed = false;
  let failure: unknown;
  try {
    guest = await bootGuest(boot).catch(async (err: unknown) => {
      if (!(err instanceof BootFailure) || !isTcgPatchingArtifact(err, accel.accel)) throw err;
      log.warn({ crash: err.crash?.title }, 'the guest hit a known TCG artifact before SSH; booting once more');
      verdict.bootRetries = [{ reason: err.reason, message: err.message, consoleTail: err.consoleTail }];
      await rename(join(runDir, 'console.log'), join(runDir, 'console-1.log'));
      return bootGuest(boot);
    });
    timings['boot-to-ssh'] = Math.round(guest.bootToSshSeconds * 10) / 10;
    const t = Date.now();
    const running = guest;
    const checking = (
      opts.invariants.length ? runChecks(guest, { topology, runDir, probe: prepared.probe, log }, progress) : Promise.resolve()
    ).then(() => (running.qemu.hasExited() ? undefined : runSteps(running, plan.uploads, { runDir, topology, log }, progress)));
    checking.catch(() => undefined);
    // A fatal crash, or QEMU gone, ends the checks at once: the guest is not to be trusted any more.
    // The guest flushes its crash watch when QEMU exits (before this runs): a panic's last lines count.
    const exitOrCrash = () => running.qemu.exited.then((exit) => running.crashWatch.crashes.find((c) => c.fatal) ?? exit);
    let ended = await Promise.race([checking.then(() => undefined), guest.crashWatch.fatal, exitOrCrash()]);
    // The checks stop early when a step finds QEMU gone; the exit is then already known.
    if (!ended && guest.qemu.hasExited()) ended = await exitOrCrash();
    const during = progress.current ? ` during ${progress.current}` : '';
    if (ended && 'title' in ended) {
      kernelCrashed = true;
      // The header comes first, the stack after it: a panic ends QEMU by itself (panic=-1, -no-reboot) once the
      // report is out, so wait for that (a little) rather than cut the report short by stopping QEMU now.
      if (ended.fatal) await Promise.race([running.qemu.exited, sleep(PANIC_REPORT_GRACE_MS)]);
      stopped = `the guest kernel crashed (${ended.title})${during}`;
      log.error({ crash: ended.title, during: progress.current }, 'the guest kernel crashed; stopping');
    } else if (ended) {
      const how = ended.signal ? `killed by ${ended.signal}` : `exit code ${ended.code}`;
      stopped = `QEMU exited (${how})${during}`;
      verdict.stopped = { reason: 'qemu-exited', message: stopped };
      log.error({ during: progress.current, how }, 'QEMU exited under the run; stopping');
    } else await saveDmesg(guest, runDir, log);
    timings.probe = seconds(t);
  } catch (err) {
    if (err instanceof BootFailure) {
      verdict.bootFailure = { reason: err.reason, message: err.message, consoleTail: err.consoleTail };
      if (err.crash) verdict.crashes.push({ ...err.crash, signature: crashSignature(err.crash) });
      stopped = `the guest did not come up (${err.reason})`;
    } else {
      // Host trouble: the reports are still written, then the error decides the exit code.
      failure = err;
      stopped = `numacage stopped: ${(err as Error).message}`;
    }
  } finally {
    await guest?.close({ keep: opts.keep });
  }
  if (guest) {
    guest.crashWatch.finish();
    const seen = guest.crashWatch.crashes.map((c, i) => {
      const during = progress.duringCrash(i);
      return { ...c, signature: crashSignature(c), ...(during ? { during } : {}) };
    });
    verdict.crashes = seen.filter((c) => !provokedByProbe(c));
    const provoked = seen.filter(provokedByProbe);
    if (provoked.length) verdict.probeProvoked = provoked;
  }
  if (kernel.debug)
    for (const c of verdict.crashes) {
      const decoded = await decodeStack(c.lines, kernel.debug);
      if (decoded) c.decoded = decoded;
    }
  if (progress.profile) verdict.profile = progress.profile;
  verdict.checks = progress.complete((id) => (id === progress.current ? `${stopped}` : `not reached: ${stopped}`), kernelCrashed);
  timings.total = seconds(t0);

  const text = renderText(verdict, runDir);
  await writeFile(join(runDir, 'report.json'), renderJson(verdict));
  await writeFile(join(runDir, 'junit.xml'), renderJunit(verdict));
  await writeFile(join(runDir, 'results.ktap'), renderKtap(verdict));
  await writeFile(join(runDir, 'summary.txt'), text);
  await writeFile(
    join(runDir, 'report.html'),
    renderHtml({
      title: `numacage ${runId}`,
      generatedAt: new Date().toISOString(),
      runs: [{ cell: verdict.cell!, verdict, runDir: '.' }],
    }),
  );
  if (failure) throw failure;
  return { verdict, runDir, text };
}

/** The guest's kernel log after the checks (OOM kills and all), kept as an artifact. */
async function saveDmesg(guest: Guest, runDir: string, log: Logger): Promise<void> {
  const r = await guest.exec('dmesg').catch((err: Error) => ({ exitCode: -1, stdout: '', stderr: err.message }));
  if (r.exitCode === 0) {
    await mkdir(join(runDir, 'probe'), { recursive: true });
    await writeFile(join(runDir, 'probe', 'dmesg.txt'), r.stdout);
  } else log.warn({ err: r.stderr }, 'could not record dmesg');
}
