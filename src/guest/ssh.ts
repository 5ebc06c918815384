import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import type { Socket } from 'node:net';

export interface ExecResult {
  command: string;
  stdout: string;
  stderr: string;
  /** null when the command was killed: by a signal in the guest (signal) or for running past its timeout (timedOut). */
  exitCode: number | null;
  signal?: string;
  timedOut: boolean;
  durationMs: number;
}

export interface SshTarget {
  port: number;
  user: string;
  privateKey: Buffer;
  /** Base64 ed25519 host key blob: any other key is refused. */
  hostKey: string;
}

/** The connection to the guest failed or was lost: nothing is known about the command (as opposed to a command that exited). */
/** Node's timers hold at most 2^31-1 ms (24.8 days): a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The timer for a command's timeout: none for 0 (kselftest's `timeout=0`:
 * no limit), and at most 24.8 days, which is none in practice too. Pure.
 */
export const timerLimit = (timeoutMs: number): number | undefined =>
  timeoutMs > 0 && Number.isFinite(timeoutMs) ? Math.min(timeoutMs, MAX_TIMER_MS) : undefined;

export class SshTransportError extends Error {}

/** How long a killed command's channel gets to close before it is given up. */
const CLOSE_GRACE_MS = 5000;

export class SshSession {
  private constructor(private readonly client: ssh2.Client, readonly target: SshTarget) {}

  /** One connection attempt (over sock when given); rejects on refusal, reset, timeout or a host key mismatch. */
  static open(target: SshTarget, attemptTimeoutMs: number, sock?: Socket): Promise<SshSession> {
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      const expected = Buffer.from(target.hostKey, 'base64');
      let hostKeyMismatch = false;
      client
        .on('ready', () => resolve(new SshSession(client, target)))
        .on('error', (err) => {
          client.end();
          reject(hostKeyMismatch ? new HostKeyMismatchError() : err);
        })
        .connect({
          ...(sock ? { sock } : { host: '127.0.0.1', port: target.port }),
          username: target.user,
          privateKey: target.privateKey,
          readyTimeout: attemptTimeoutMs,
          algorithms: { serverHostKey: ['ssh-ed25519'] },
          hostVerifier: (key: Buffer) => {
            hostKeyMismatch = !key.equals(expected);
            return !hostKeyMismatch;
          },
        });
    });
  }

  /**
   * Runs a command; input, when given, is its standard input. The timeout
   * covers the whole exchange: a channel that never opens rejects, one that
   * never closes after the kill resolves as timed out a few seconds later.
   */
  exec(command: string, timeoutMs: number, input?: Buffer): Promise<ExecResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let stdout = '';
      let stderr = '';
      let exitCode: number | null = null;
      let signal: string | undefined;
      let timedOut = false;
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      const finish = () => {
        // No exit status and no signal: the channel died with the connection (sshd gone, QEMU gone).
        if (!timedOut && exitCode === null && !signal) return fail(new SshTransportError('the SSH channel closed without an exit status: the connection to the guest was lost'));
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ command, stdout, stderr, exitCode: timedOut ? null : exitCode, ...(signal && !timedOut ? { signal } : {}), timedOut, durationMs: Date.now() - started });
      };
      const onTimeout = () => {
        timedOut = true;
        if (!channel) return fail(new SshTransportError(`the SSH connection opened no channel within ${timeoutMs / 1000} s`));
        channel.signal('KILL');
        channel.close();
        setTimeout(finish, CLOSE_GRACE_MS).unref();
      };
      const limit = timerLimit(timeoutMs);
      const timer = limit === undefined ? undefined : setTimeout(onTimeout, limit);
      try {
        this.client.exec(command, (err, ch: ClientChannel) => {
          if (settled) return void ch?.close();
          if (err) return fail(new SshTransportError(err.message));
          channel = ch;
          ch.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
          ch.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
          ch.on('exit', (code: number | null, sig?: string) => {
            exitCode = code;
            signal = sig ?? undefined;
          });
          if (input) ch.end(input);
          ch.on('close', finish);
        });
      } catch (err) {
        // ssh2 throws "Not connected" when the connection is gone.
        fail(new SshTransportError((err as Error).message));
      }
    });
  }

  /** An interactive shell on this terminal; resolves with the shell's exit code. */
  shell(): Promise<number> {
    const stdin = process.stdin;
    return new Promise((resolve, reject) => {
      const window = { term: process.env.TERM ?? 'xterm', rows: process.stdout.rows ?? 24, cols: process.stdout.columns ?? 80 };
      this.client.shell(window, (err, channel) => {
        if (err) return reject(err);
        let code = 0;
        if (stdin.isTTY) stdin.setRawMode(true);
        stdin.pipe(channel);
        channel.pipe(process.stdout);
        channel.stderr.pipe(process.stderr);
        const resize = () => channel.setWindow(process.stdout.rows ?? 24, process.stdout.columns ?? 80, 0, 0);
        process.stdout.on('resize', resize);
        channel.on('exit', (c: number | null) => (code = c ?? 0));
        channel.on('close', () => {
          process.stdout.off('resize', resize);
          stdin.unpipe(channel);
          if (stdin.isTTY) stdin.setRawMode(false);
          stdin.pause();
          resolve(code);
        });
      });
    });
  }

  close(): void {
    this.client.end();
  }
}

export class HostKeyMismatchError extends Error {
  constructor() {
    super('the guest presented a host key other than the image\'s pinned one');
  }
}
