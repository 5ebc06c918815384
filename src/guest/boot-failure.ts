import type { Crash } from '../console/crash-scanner.js';

export type BootFailureReason = 'kernel-panic' | 'kernel-crash' | 'qemu-exited' | 'ssh-timeout' | 'ssh-auth-refused' | 'ssh-host-key' | 'boot-hang';

/**
 * An "Oops: int3" before SSH under TCG: a breakpoint left by live code
 * patching (static keys) executed after the patch was done, a known hazard
 * of cross-modifying code under multi-threaded TCG and not a bug of the
 * kernel under test. Seen on Debian's stock kernel about once in tens of
 * boots; a boot that ends this way before init starts is tried once more.
 * A crash once init runs is never retried. Pure.
 */
export function isTcgPatchingArtifact(f: BootFailure, accel: string): boolean {
  const initStarted = f.consoleTail.some((l) => / as init process$/.test(l.trim()));
  return !initStarted && !!f.crash && isTcgInt3Oops(f.crash, accel);
}

const isTcgInt3Oops = (c: Crash, accel: string) => accel === 'tcg' && c.type === 'oops' && /^Oops: int3\b/.test(c.title);

/**
 * The same artifact after boot: "Oops: int3" under TCG where the code the
 * oops dumps holds no int3 at the trapping address (the byte before the
 * marked one is not 0xcc), so the breakpoint the vCPU ran was already
 * patched away. Seen once (2026-12-04) in the stock kernel's task_tick_fair
 * just after the numa-balancing check switched its static key. A report
 * without its Code: line is not taken for it. Pure.
 */
export function isStaleInt3(c: Crash, accel: string): boolean {
  if (!isTcgInt3Oops(c, accel)) return false;
  const code = c.lines.find((l) => /\bCode: /.test(l));
  const before = code && /\b([0-9a-f]{2}) <[0-9a-f]{2}>/.exec(code);
  return !!before && before[1] !== 'cc';
}

/** The guest never became reachable: a result of the run (exit 1), with the console tail as evidence. */
export class BootFailure extends Error {
  constructor(
    readonly reason: BootFailureReason,
    message: string,
    readonly consoleTail: string[],
    readonly crash?: Crash,
  ) {
    super(message);
    this.name = 'BootFailure';
  }
}
