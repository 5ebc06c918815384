import { setApart } from '../console/crash-patterns.js';
import type { Crash } from '../console/crash-scanner.js';
import type { BootFailure } from '../guest/boot-failure.js';
import type { BootFailureReport, CrashReport, Verdict } from '../model/verdict.js';
import type { CheckProgress } from './check-progress.js';

/** How the guest's part of a run ended: its work done, a kernel crash, or QEMU gone. */
export type GuestEnd =
  | { kind: 'done' }
  | { kind: 'kernel-crash'; crash: Crash; during?: string }
  | { kind: 'qemu-exited'; how: string; during?: string };

/** What the guest's part of a run came to, for assembleVerdict. */
export interface RunSeen {
  end: GuestEnd;
  bootFailure?: BootFailure;
  bootRetries: BootFailureReport[];
  /** Every console report, with its signature (decoded when the kernel has debug info). */
  crashes: (Crash & CrashReport)[];
}

/**
 * The verdict from what the run saw: every selected check has its result
 * (not-run, with the reason, past the point where the run stopped), reports
 * the probe provokes on purpose and the emulator's own artifacts are set apart, and a boot failure or a stop
 * is recorded with its reason. No I/O.
 */
export function assembleVerdict(header: Verdict, seen: RunSeen, progress: CheckProgress, failure?: unknown): Verdict {
  const apart = (why: ReturnType<typeof setApart>) =>
    seen.crashes.filter((c) => setApart(c, header.accel.accel) === why);
  const verdict: Verdict = { ...header, crashes: apart(undefined) };
  const provoked = apart('probe');
  if (provoked.length) verdict.probeProvoked = provoked;
  const artifacts = apart('emulator');
  if (artifacts.length) verdict.emulatorArtifacts = artifacts;
  if (seen.bootRetries.length) verdict.bootRetries = seen.bootRetries;
  const b = seen.bootFailure;
  if (b) verdict.bootFailure = { reason: b.reason, message: b.message, consoleTail: b.consoleTail };
  if (seen.end.kind === 'qemu-exited') verdict.stopped = { reason: 'qemu-exited', message: stoppedBecause(seen.end)! };
  const stopped = b
    ? `the guest did not come up (${b.reason})`
    : failure
      ? `numacage stopped: ${(failure as Error).message}`
      : stoppedBecause(seen.end);
  if (progress.profile) verdict.profile = progress.profile;
  if (progress.expected) verdict.expectedProfile = progress.expected;
  verdict.checks = progress.complete(
    (id) => (id === progress.current ? `${stopped}` : `not reached: ${stopped}`),
    seen.end.kind === 'kernel-crash',
  );
  return verdict;
}

/** The sentence a report gives for a run stopped early, or undefined. */
function stoppedBecause(end: GuestEnd): string | undefined {
  const during = end.kind !== 'done' && end.during ? ` during ${end.during}` : '';
  if (end.kind === 'kernel-crash') return `the guest kernel crashed (${end.crash.title})${during}`;
  if (end.kind === 'qemu-exited') return `QEMU exited (${end.how})${during}`;
  return undefined;
}
