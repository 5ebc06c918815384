import { connect, type Socket } from 'node:net';
import type { QemuProcess } from '../adapters/qemu-process.js';
import { exitsWithin, sleep } from '../adapters/qemu-process.js';
import type { Crash } from '../console/crash-scanner.js';
import { BootFailure } from './boot-failure.js';
import type { CrashWatch } from './crash-watch.js';
import { HostKeyMismatchError, SshSession, type SshTarget } from './ssh.js';

/** sshd refusing the key this many times in a row is an answer. */
const AUTH_REFUSALS_BEFORE_GIVING_UP = 3;
const CONSOLE_TAIL_LINES = 40;
const RETRY_INTERVAL_MS = 150;
const BANNER_TIMEOUT_MS = 1000;
/** What the minimal init prints once sshd listens (guest/init/numacage-init). */
const SSHD_UP_MARKER = /numacage-init: sshd and eth0 up/;

export interface ReadinessLimits {
  /** Overall time for SSH to answer. */
  sshMs: number;
  /** Silence on the console that counts as a hang while booting. */
  noOutputMs: number;
  /** One SSH handshake, once the banner has been seen. */
  attemptMs: number;
}

/**
 * A TCP connection to the forwarded SSH port on which sshd's banner has
 * arrived (not yet read), or undefined after timeoutMs. QEMU's user networking
 * accepts on the host port before the guest listens, and a connection made
 * then can hang in TCP retransmits for seconds; waiting for the banner on a
 * short timeout avoids that, and the same socket then carries the SSH session,
 * so sshd forks only once.
 */
function socketWithBanner(port: number, timeoutMs = BANNER_TIMEOUT_MS): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.removeAllListeners('readable').removeAllListeners('error').removeAllListeners('close');
      if (ok) return resolve(sock);
      sock.destroy();
      resolve(undefined);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('readable', () => done(sock.readableLength > 0));
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
  });
}

/**
 * Tries SSH every 150 ms until it answers. Ends early, with the last console
 * lines, when the kernel crashes, QEMU exits, or the console stays silent
 * too long; otherwise fails with ssh-timeout at the deadline.
 */
export async function waitForSsh(target: SshTarget, qemu: QemuProcess, watch: CrashWatch, limits: ReadinessLimits): Promise<SshSession> {
  const started = Date.now();
  const deadline = started + limits.sshMs;
  let crash: Crash | undefined;
  void watch.fatal.then((c) => (crash = c));
  const interrupted = Promise.race([qemu.exited, watch.fatal]).then(() => 'interrupted' as const);
  const stopped = () => crash !== undefined || qemu.hasExited();
  // Once the init says sshd is up, a probe still waiting on a connection made earlier is dropped for a fresh one.
  let sshdUp = false;
  let lastError: string | undefined;
  let authRefusals = 0;
  let wakeUp: () => void = () => undefined;
  const unwatch = qemu.console.watch((chunk) => {
    if (!sshdUp && SSHD_UP_MARKER.test(qemu.console.content.slice(-chunk.length - 200))) {
      sshdUp = true;
      wakeUp();
    }
  });

  try {
    while (Date.now() < deadline && !stopped()) {
      if (Date.now() - watch.lastOutputAt > limits.noOutputMs) {
        throw new BootFailure('boot-hang', `the console has been silent for ${Math.round(limits.noOutputMs / 1000)} s and SSH is not up${lastError ? ` (last SSH error: ${lastError})` : ''}`, qemu.console.tail(CONSOLE_TAIL_LINES));
      }
      const wasUp = sshdUp;
      const probe = socketWithBanner(target.port);
      const markerSeen = new Promise<'marker'>((r) => (wakeUp = () => r('marker')));
      const sock = await Promise.race([probe, interrupted, ...(wasUp ? [] : [markerSeen])]);
      if (sock === 'interrupted' || sock === 'marker') {
        void probe.then((s) => s?.destroy());
        if (sock === 'interrupted') break;
        continue;
      }
      if (!sock) {
        await Promise.race([sleep(RETRY_INTERVAL_MS), markerSeen]);
        continue;
      }
      const attempt = SshSession.open(target, Math.min(limits.attemptMs, Math.max(deadline - Date.now(), 1)), sock);
      const outcome = await Promise.race([attempt.then((s) => ({ session: s }), (err: Error) => ({ err })), interrupted]);
      if (outcome === 'interrupted') {
        attempt.then((s) => s.close(), () => undefined);
        break;
      }
      if ('session' in outcome) return outcome.session;
      lastError = outcome.err.message;
      if (outcome.err instanceof HostKeyMismatchError) throw new BootFailure('ssh-host-key', outcome.err.message, qemu.console.tail(CONSOLE_TAIL_LINES));
      // sshd answered and refused the image's key: waiting will not change that.
      authRefusals = (outcome.err as { level?: string }).level === 'client-authentication' ? authRefusals + 1 : 0;
      if (authRefusals >= AUTH_REFUSALS_BEFORE_GIVING_UP)
        throw new BootFailure('ssh-auth-refused', `sshd refused the image's key ${authRefusals} times: ${lastError}`, qemu.console.tail(CONSOLE_TAIL_LINES));
      await sleep(RETRY_INTERVAL_MS);
    }
  } finally {
    unwatch();
  }
  // After a panic QEMU exits by itself (panic=-1, -no-reboot); give it a moment so the tail holds the whole report.
  if (crash && !qemu.hasExited()) await exitsWithin(qemu.exited, 2000);
  if (qemu.hasExited()) await qemu.exited;
  watch.finish();
  const tail = qemu.console.tail(CONSOLE_TAIL_LINES);
  crash ??= watch.crashes.find((c) => c.fatal);
  if (crash) {
    const reason = crash.type === 'panic' ? 'kernel-panic' : 'kernel-crash';
    throw new BootFailure(reason, `${crash.title}${crash.atSeconds !== undefined ? ` (at ${crash.atSeconds.toFixed(1)} s)` : ''}`, tail, crash);
  }
  if (qemu.hasExited()) {
    const exit = await qemu.exited;
    const why = exit.stderr.trim() ? `: ${exit.stderr.trim().split('\n').slice(-3).join(' | ')}` : '';
    throw new BootFailure('qemu-exited', `QEMU exited (code ${exit.code}) before SSH was up${why}`, tail);
  }
  throw new BootFailure('ssh-timeout', `the guest did not answer SSH within ${Math.round(limits.sshMs / 1000)} s${lastError ? ` (last SSH error: ${lastError})` : ''}`, tail);
}
