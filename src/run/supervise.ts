import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { exitsWithin } from '../adapters/qemu-process.js';
import { bootGuest, type BootRequest, type Guest } from '../guest/boot.js';
import { BootFailure, isTcgPatchingArtifact } from '../guest/boot-failure.js';
import type { Logger } from '../log.js';
import type { BootFailureReport } from '../model/verdict.js';
import type { CheckProgress } from './check-progress.js';
import type { GuestEnd } from './assemble-verdict.js';

/** How long a panicking guest gets to print its whole report before numacage stops it. */
const PANIC_REPORT_GRACE_MS = 3000;

/**
 * Boots the guest; a boot lost to the known TCG patching artifact before SSH
 * (docs/reliability.md) is tried once more, its console kept as console-N.log
 * (N: its place in retries) and the lost boot added to retries (kept there if the second boot fails too).
 */
export async function bootWithRetry(
  boot: BootRequest,
  accel: string,
  log: Logger,
  retries: BootFailureReport[],
): Promise<Guest> {
  try {
    return await bootGuest(boot);
  } catch (err) {
    if (!(err instanceof BootFailure) || !isTcgPatchingArtifact(err, accel)) throw err;
    log.warn({ crash: err.crash?.title }, 'the guest hit a known TCG artifact before SSH; booting once more');
    await keepLostAttempt(boot.runDir, retries, {
      reason: err.reason,
      message: err.message,
      consoleTail: err.consoleTail,
    });
    return bootGuest(boot);
  }
}

/** An attempt lost to a known emulator artifact: added to retries, its console kept as console-N.log (N: its place there). */
export async function keepLostAttempt(
  runDir: string,
  retries: BootFailureReport[],
  lost: BootFailureReport,
): Promise<void> {
  retries.push(lost);
  await rename(join(runDir, 'console.log'), join(runDir, `console-${retries.length}.log`));
}

/**
 * Runs the work (checks, then steps) against the guest and whatever ends it
 * first: a fatal crash or QEMU's exit stops the work at once, since the guest
 * is not to be trusted any more.
 */
export async function supervise(
  guest: Guest,
  work: Promise<void>,
  progress: CheckProgress,
  log: Logger,
): Promise<GuestEnd> {
  work.catch(() => undefined);
  // The guest flushes its crash watch when QEMU exits (before this runs): a panic's last lines count.
  const exitOrCrash = () => guest.qemu.exited.then((exit) => guest.crashWatch.crashes.find((c) => c.fatal) ?? exit);
  let ended = await Promise.race([work.then(() => undefined), guest.crashWatch.fatal, exitOrCrash()]);
  // The work stops early when a step finds QEMU gone; the exit is then already known.
  if (!ended && guest.qemu.hasExited()) ended = await exitOrCrash();
  const during = progress.current;
  if (!ended) return { kind: 'done' };
  if ('title' in ended) {
    // The header comes first, the stack after it: a panic ends QEMU by itself (panic=-1, -no-reboot) once the
    // report is out, so wait for that (a little) rather than cut the report short by stopping QEMU now.
    if (ended.fatal) await exitsWithin(guest.qemu.exited, PANIC_REPORT_GRACE_MS);
    log.error({ crash: ended.title, during }, 'the guest kernel crashed; stopping');
    return { kind: 'kernel-crash', crash: ended, ...(during ? { during } : {}) };
  }
  const how = ended.signal ? `killed by ${ended.signal}` : `exit code ${ended.code}`;
  log.error({ during, how }, 'QEMU exited under the run; stopping');
  return { kind: 'qemu-exited', how, ...(during ? { during } : {}) };
}
