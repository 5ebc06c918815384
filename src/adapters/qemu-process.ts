import { createWriteStream } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { ConsoleBuffer } from '../console/console-buffer.js';
import { InfraError } from '../model/errors.js';
import type { Logger } from '../log.js';
import { killOnProcessExit, onInterrupt } from './cleanup.js';
import { qmpCommand } from './qmp.js';
import { findExecutable } from './runner.js';

/** $NUMACAGE_QEMU picks another QEMU build. */
export const QEMU_BINARY = process.env.NUMACAGE_QEMU || 'qemu-system-x86_64';

interface QemuExit {
  code: number | null;
  signal: string | null;
  stderr: string;
}

export interface QemuProcess {
  readonly pid: number;
  readonly console: ConsoleBuffer;
  /** Settles when QEMU has exited, for whatever reason. */
  readonly exited: Promise<QemuExit>;
  hasExited(): boolean;
  /**
   * Ends QEMU: with powerdownMs, an ACPI power-button press first (a guest
   * running systemd shuts down cleanly); then QMP quit; then SIGKILL if QEMU
   * is still there after graceMs. Safe to call twice.
   */
  stop(graceMs?: number, powerdownMs?: number): Promise<void>;
}

export function assertQemuInstalled(): void {
  if (!findExecutable(QEMU_BINARY))
    throw new InfraError(
      `QEMU (${QEMU_BINARY}) is not installed or not executable`,
      'run `numacage doctor --install`, or point $NUMACAGE_QEMU at a QEMU binary',
    );
}

/**
 * Starts QEMU with its serial console on stdout (chardev stdio), copied to
 * consoleLogPath and into a live ConsoleBuffer. QEMU runs under
 * `setpriv --pdeathsig KILL` so that it dies with numacage even on SIGKILL.
 */
export async function startQemu(opts: {
  args: string[];
  qmpSocket: string;
  consoleLogPath: string;
  log: Logger;
}): Promise<QemuProcess> {
  assertQemuInstalled();
  const consoleBuffer = new ConsoleBuffer();
  const file = createWriteStream(opts.consoleLogPath);
  const child: ResultPromise = execa('setpriv', ['--pdeathsig', 'KILL', '--', QEMU_BINARY, ...opts.args], {
    stdin: 'ignore',
    buffer: { stdout: false, stderr: true },
    reject: false,
  });
  const pid = child.pid;
  if (pid === undefined) throw new InfraError(`${QEMU_BINARY} did not start`, 'run `numacage doctor`');
  const forgetPid = killOnProcessExit(pid);
  let done = false;
  child.stdout!.on('data', (chunk: Buffer) => {
    file.write(chunk);
    consoleBuffer.append(chunk.toString('utf8'));
  });
  const exited: Promise<QemuExit> = child.then((r) => {
    done = true;
    forgetPid();
    file.end();
    const stderr = String(r.stderr ?? '');
    opts.log.debug({ pid, exitCode: r.exitCode, signal: r.signal }, 'qemu exited');
    return { code: r.exitCode ?? null, signal: r.signal ?? null, stderr };
  });
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 3000, powerdownMs = 0): Promise<void> => {
    stopping ??= (async () => {
      if (done) return;
      if (
        powerdownMs > 0 &&
        (await qmpCommand(opts.qmpSocket, 'system_powerdown', undefined, graceMs).then(
          () => true,
          () => false,
        ))
      )
        await exitsWithin(exited, powerdownMs);
      if (done) return;
      await qmpCommand(opts.qmpSocket, 'quit', undefined, graceMs).catch(() => undefined);
      const gone = await exitsWithin(exited, graceMs);
      if (!gone) {
        opts.log.warn({ pid }, 'qemu ignored QMP quit, sending SIGKILL');
        child.kill('SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };
  const unregister = onInterrupt(() => stop(1000));
  void exited.then(unregister);
  opts.log.debug({ pid }, 'qemu started');
  return { pid, console: consoleBuffer, exited, hasExited: () => done, stop };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Whether `exited` (a child's end) settles within ms. The timer is cleared when it does: a pending
 * sleep() would keep numacage alive for the rest of its span after the child is gone (3 s at the end
 * of every run, measured).
 */
export async function exitsWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
