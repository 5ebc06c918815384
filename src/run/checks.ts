import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { progressEvent } from '../model/progress.js';
import { join } from 'node:path';
import { readGuestScript } from '../adapters/guest-scripts.js';
import { tcpTraffic } from '../adapters/traffic.js';
import type { Logger } from '../log.js';
import type { Topology } from '../model/topology.js';
import type { CheckResult } from '../model/verdict.js';
import { evaluateInvariant, notRunResult } from '../invariants/evaluate.js';
import { guestCommand, runsProbe } from '../invariants/guest-scripts.js';
import type { StepWitness } from '../invariants/witness.js';
import { KERNEL_STATE_STEP, parseKernelState } from '../invariants/kernel-state.js';
import { detectProfile, nodeRoles, type KernelProfile } from '../invariants/profile.js';
import { inferExpectedProfile } from '../invariants/expectation.js';
import { invariant } from '../invariants/registry.js';
import { GUEST_PROBE_PATH } from '../invariants/shell.js';
import {
  expectationOf,
  isHostStep,
  usesProbe,
  type GuestStep,
  type HostAccess,
  type ProbeContext,
  type Step,
} from '../invariants/spec.js';
import { ProbeError } from '../invariants/errors.js';
import type { Guest } from '../guest/boot.js';
import { SshTransportError } from '../guest/ssh.js';
import { QmpTransportError } from '../adapters/qmp.js';
import type { CheckProgress } from './check-progress.js';
import { hostWitness } from './witness.js';
import { countPresentPages, nodeBacking } from '../adapters/guest-memory.js';

const STEP_TIMEOUT_MS = 60_000;

/** Keeps a step's output in <runDir>/probe/<name>.txt, and its stderr beside it when there is any. */
async function saveStepOutput(runDir: string, name: string, stdout: string, stderr = ''): Promise<void> {
  await mkdir(join(runDir, 'probe'), { recursive: true });
  await writeFile(join(runDir, 'probe', `${name}.txt`), stdout);
  if (stderr.trim()) await writeFile(join(runDir, 'probe', `${name}.stderr.txt`), stderr);
}

/**
 * Guest steps run on C's CPUs: the probes take "the local node" to be C,
 * and a topology with CPUs on other nodes would otherwise fault their pages
 * wherever the scheduler put them. Where C has every CPU the pin is left
 * out (the guest's one CPU elsewhere, cpu-hotplug's, goes offline again
 * within its own step).
 */
function pinnedCpus(ctx: ProbeContext): number[] {
  const ofC = ctx.topology.nodes.find((n) => n.id === ctx.roles.c)?.cpus ?? [];
  return ctx.topology.nodes.every((n) => n.id === ctx.roles.c || !n.cpus.length) ? [] : ofC;
}

async function runStep(step: Step, guest: Guest, host: HostAccess, ctx: ProbeContext, runDir: string): Promise<string> {
  if (!isHostStep(step)) return runGuestStep(step, guest, runDir, pinnedCpus(ctx));
  const text = await step.run(host, ctx);
  await saveStepOutput(runDir, step.name, text);
  return text;
}

/** Runs the step's script of guest/scripts/ as root, pinned to `cpus` when given. */
async function runGuestStep(step: GuestStep, guest: Guest, runDir: string, cpus: number[] = []): Promise<string> {
  const r = await guest.exec(guestCommand(step, readGuestScript, cpus), {
    timeoutMs: step.timeoutMs ?? STEP_TIMEOUT_MS,
  });
  await saveStepOutput(runDir, step.name, r.stdout, r.stderr);
  if (r.timedOut)
    throw new ProbeError(`step ${step.name} did not finish within ${(step.timeoutMs ?? STEP_TIMEOUT_MS) / 1000} s`);
  if (r.exitCode !== 0)
    throw new ProbeError(
      `step ${step.name} exited ${r.exitCode ?? `on signal ${r.signal}`}: ${r.stderr.trim().split('\n').slice(-3).join(' / ') || 'no stderr'}`,
    );
  return r.stdout;
}

/** Installs the static probe in the guest unless the same binary is already there. */
async function uploadProbe(guest: Guest, binary: { path: string; sha256: string }): Promise<void> {
  const have = await guest.exec(`sha256sum ${GUEST_PROBE_PATH} 2>/dev/null`);
  if (have.stdout.startsWith(binary.sha256)) return;
  const r = await guest.exec(
    `cat > ${GUEST_PROBE_PATH}.new && chmod 755 ${GUEST_PROBE_PATH}.new && mv ${GUEST_PROBE_PATH}.new ${GUEST_PROBE_PATH}`,
    {
      input: await readFile(binary.path),
    },
  );
  if (r.exitCode !== 0) throw new Error(r.stderr.trim() || `exit ${r.exitCode}`);
}

/** Did QEMU die under a failed step? Its exit can trail the SSH or QMP error by a moment. */
export const qemuGone = (guest: Guest) =>
  Promise.race([
    guest.qemu.exited.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref()),
  ]);

export const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Runs the selected invariants in registry order: the kernel's state first
 * (profile detection), then each invariant's steps, parse and decision.
 * Nothing a guest or a probe does escapes as an exception: every check ends
 * as a result in `progress`, with its duration.
 */
export async function runChecks(
  guest: Guest,
  opts: {
    topology: Topology;
    runDir: string;
    probe?: { path: string; sha256: string };
    /** The kernel command line QEMU was given, and the profile the user declared (else inferred from the request). */
    cmdline: string;
    expect?: KernelProfile;
    log: Logger;
  },
  progress: CheckProgress,
): Promise<void> {
  const { topology, runDir, log } = opts;
  const realRoles = nodeRoles(topology);
  const roles = realRoles ?? { c: topology.nodes.find((n) => n.cpus.length)?.id ?? 0, p: -1, cpuOfC: 0 };
  const push = (r: CheckResult, started: number) => {
    const done = { ...r, durationSeconds: Math.round((Date.now() - started) / 100) / 10 };
    progress.results.push(done);
    log.info(
      {
        check: r.id,
        outcome: r.outcome,
        seconds: done.durationSeconds,
        ...progressEvent({ stage: 'checks', state: 'done', id: r.id, outcome: r.outcome }),
      },
      `${r.id}: ${r.outcome}`,
    );
  };

  let ctx: ProbeContext;
  const t0 = Date.now();
  try {
    const state = parseKernelState(await runGuestStep(KERNEL_STATE_STEP, guest, runDir));
    progress.profile = detectProfile({
      nodeStates: state.nodeStates,
      zones: state.zones,
      cmdline: state.cmdline,
      p: roles.p,
    });
    progress.expected = opts.expect
      ? { profile: opts.expect, why: 'declared (--expect)' }
      : inferExpectedProfile(opts.cmdline, topology, roles.p);
    ctx = { roles, topology, profile: progress.expected.profile, detected: progress.profile.profile, state };
  } catch (err) {
    for (const id of progress.ids)
      push(
        notRunResult(
          invariant(id),
          undefined,
          'error',
          `probe failed: reading the kernel's state failed: ${message(err)}`,
        ),
        t0,
      );
    return;
  }

  let uploadFailure: string | undefined;
  const probeUsers = new Set(progress.ids.filter((id) => usesProbe(invariant(id), ctx, readGuestScript)));
  if (probeUsers.size)
    await uploadProbe(guest, opts.probe!).catch(
      (err) => (uploadFailure = `uploading the probe failed: ${message(err)}`),
    );

  const host: HostAccess = {
    exec: (command, o) => guest.exec(command, o),
    qmp: (execute, args) => guest.qmp(execute, args),
    tcpTraffic: (bytes) => tcpTraffic((command, o) => guest.exec(command, o), bytes, guest.trafficSockets),
    backendStats: async (id) => guest.backend(id)?.stats(),
    backendForward: async (id, on) => (await guest.backend(id)?.forward(on)) ?? false,
    readPhysical: (addr, size) => guest.readPhysical(addr, size),
    nodePresentPages: async (node) => {
      const backing = await nodeBacking(guest.qemu.pid, topology, node);
      return 'unavailable' in backing ? backing : countPresentPages(guest.qemu.pid, backing);
    },
  };
  const witness = hostWitness(guest, topology, roles.p);
  let qemuOutlivedLoss = false;
  for (const id of progress.ids) {
    const spec = invariant(id);
    const started = Date.now();
    progress.begin(id, guest.crashWatch.crashes.length);
    const unsupported =
      !realRoles && id !== 'topology'
        ? `topology ${topology.name} has no CPU-less node to test`
        : realRoles && spec.unsupported?.(topology, realRoles);
    if (unsupported) push(notRunResult(spec, ctx, 'skip', unsupported), started);
    else if (expectationOf(spec, ctx) === 'n/a') push(evaluateInvariant(spec, {}, ctx), started);
    else if (uploadFailure && probeUsers.has(id))
      push(notRunResult(spec, ctx, 'error', `probe failed: ${uploadFailure}`), started);
    else {
      const raw: Record<string, string> = {};
      const witnessed: StepWitness[] = [];
      try {
        for (const step of spec.steps(ctx)) {
          if (spec.witnessed && !isHostStep(step) && runsProbe(step, readGuestScript)) {
            const { text, witness: w } = await witness.run(step, (s) => runStep(s, guest, host, ctx, runDir), {
              copies: spec.hostCopies,
            });
            raw[step.name] = text;
            witnessed.push(w);
          } else raw[step.name] = await runStep(step, guest, host, ctx, runDir);
        }
        push(evaluateInvariant(spec, raw, ctx, witnessed), started);
      } catch (err) {
        const lostGuest = err instanceof SshTransportError || err instanceof QmpTransportError;
        // QEMU gone: the run reports its exit, and this check and the rest are not-run. The first lost
        // connection waits up to a second for QEMU to exit (a guest that panicked); once QEMU has outlived
        // one, later checks only look, so a guest whose sshd died does not cost a second per check.
        const gone = lostGuest && (qemuOutlivedLoss ? guest.qemu.hasExited() : await qemuGone(guest));
        if (gone) return;
        if (lostGuest) qemuOutlivedLoss = true;
        push(
          notRunResult(
            spec,
            ctx,
            'error',
            `probe failed: ${err instanceof SshTransportError ? 'the SSH connection to the guest failed: ' : ''}${message(err)}`,
          ),
          started,
        );
      }
    }
  }
  progress.current = undefined;
}
