import { connect } from 'node:net';
import type { QemuProcess } from '../adapters/qemu-process.js';
import { sleep } from '../adapters/qemu-process.js';
import { BootFailure } from './boot-failure.js';
import { HostKeyMismatchError, SshSession, type SshTarget } from './ssh.js';

export const CONSOLE_TAIL_LINES = 40;
const RETRY_INTERVAL_MS = 150;
const BANNER_TIMEOUT_MS = 1000;

/**
 * Whether sshd's "SSH-2.0-" banner arrives within timeoutMs. QEMU's user
 * networking accepts on the host port before the guest listens, and a
 * connection made then can hang in TCP retransmits for seconds; a short
 * banner probe avoids waiting those out inside the SSH handshake.
 */
export function sshBannerSeen(port: number, timeoutMs = BANNER_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('SSH-')));
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
  });
}

/**
 * Tries SSH every 150 ms until it answers, QEMU exits, or the deadline
 * passes; the two failures carry the last console lines.
 */
export async function waitForSsh(target: SshTarget, qemu: QemuProcess, timeoutMs: number, attemptTimeoutMs: number): Promise<SshSession> {
  const deadline = Date.now() + timeoutMs;
  const exitedEarly = qemu.exited.then((exit) => exit);
  while (Date.now() < deadline) {
    if (qemu.hasExited()) break;
    if (!(await sshBannerSeen(target.port))) {
      await sleep(RETRY_INTERVAL_MS);
      continue;
    }
    const attempt = SshSession.open(target, Math.min(attemptTimeoutMs, Math.max(deadline - Date.now(), 1)));
    const outcome = await Promise.race([
      attempt.then((s) => ({ session: s }), (err: Error) => ({ err })),
      exitedEarly.then(() => ({ exited: true as const })),
    ]);
    if ('session' in outcome) return outcome.session;
    if ('exited' in outcome) {
      attempt.then((s) => s.close(), () => undefined);
      break;
    }
    if (outcome.err instanceof HostKeyMismatchError) throw outcome.err;
    await sleep(RETRY_INTERVAL_MS);
  }
  const tail = qemu.console.tail(CONSOLE_TAIL_LINES);
  if (qemu.hasExited()) {
    const exit = await qemu.exited;
    const panicked = /Kernel panic - not syncing/.test(qemu.console.content);
    const why = exit.stderr.trim() ? `: ${exit.stderr.trim().split('\n').slice(-3).join(' | ')}` : '';
    return Promise.reject(
      panicked
        ? new BootFailure('kernel-panic', 'the guest kernel panicked before SSH was up', tail)
        : new BootFailure('qemu-exited', `QEMU exited (code ${exit.code}) before SSH was up${why}`, tail),
    );
  }
  throw new BootFailure('ssh-timeout', `the guest did not answer SSH within ${Math.round(timeoutMs / 1000)} s`, tail);
}
