import { createWriteStream, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import { join } from 'node:path';
import { InfraError } from '../model/errors.js';
import type { Logger } from '../log.js';
import { parseTestpmdStats, takeReplies, type PortStats } from '../parsers/testpmd.js';
import { killOnProcessExit, onInterrupt } from './cleanup.js';
import { exitsWithin, sleep } from './qemu-process.js';
import { vhostBackendArgs } from '../qemu/args.js';
import { findExecutable } from './runner.js';

/** $NUMACAGE_TESTPMD picks another dpdk-testpmd. */
export const TESTPMD_BINARY = process.env.NUMACAGE_TESTPMD || 'dpdk-testpmd';

const SOCKET_WAIT_MS = 15_000;
const REPLY_WAIT_MS = 10_000;
/** Where DPDK keeps a root process's runtime files, one dir per --file-prefix. */
const DPDK_RUNTIME_DIR = '/var/run/dpdk';

/**
 * A vhost-user network backend outside QEMU: DPDK's testpmd, echoing every frame with its MACs
 * swapped while it forwards.
 */
export interface VhostBackend {
  readonly socket: string;
  /** Starts or stops forwarding; false when testpmd did not answer within 10 s. */
  forward(on: boolean): Promise<boolean>;
  /** The port's counters now (all that came before); undefined when testpmd does not answer within 10 s. */
  stats(): Promise<PortStats | undefined>;
  /** Whether testpmd is still there, and what it said when it is not. */
  exitedWith(): string | undefined;
  stop(): Promise<void>;
}

export function assertTestpmdInstalled(): void {
  if (!findExecutable(TESTPMD_BINARY))
    throw new InfraError(
      `${TESTPMD_BINARY} (DPDK's testpmd, the vhost-user backend) is not installed`,
      'run `numacage doctor --install` (Debian package dpdk-dev), or point $NUMACAGE_TESTPMD at a testpmd',
    );
}

/**
 * Starts testpmd as the vhost-user server on `socket`, without huge pages or PCI devices, at its
 * prompt: it forwards only between forward(true) and forward(false), since its forwarding core polls
 * without pause. Its output goes to logPath. Like QEMU it runs under `setpriv --pdeathsig KILL`, so
 * it dies with numacage even on SIGKILL, and at the lowest priority.
 * Resolves once the socket exists (QEMU connects to it at start).
 */
export async function startVhostBackend(opts: {
  socket: string;
  /** Unique per backend: DPDK keeps its runtime files under /var/run/dpdk/<prefix>. */
  filePrefix: string;
  logPath: string;
  log: Logger;
}): Promise<VhostBackend> {
  assertTestpmdInstalled();
  const args = vhostBackendArgs(opts.socket, opts.filePrefix, 'on-demand');
  // nice 19: while it forwards, a guest's vCPUs (TCG) must win the CPU from it. stdbuf -oL: testpmd
  // printf()s a command's reply, which a pipe would hold back until its buffer filled.
  const child = execa(
    'setpriv',
    ['--pdeathsig', 'KILL', '--', 'nice', '-n', '19', 'stdbuf', '-oL', TESTPMD_BINARY, ...args],
    { stdin: 'pipe', all: true, buffer: false, reject: false },
  );
  const pid = child.pid;
  if (pid === undefined) throw new InfraError(`${TESTPMD_BINARY} did not start`, 'run `numacage doctor`');
  const forgetPid = killOnProcessExit(pid);
  const file = createWriteStream(opts.logPath);
  // Each prompt ends the reply to one command, in order; the first ends its start-up.
  let unread = '';
  const waiting: ((reply: string) => void)[] = [() => undefined];
  child.all!.on('data', (chunk: Buffer) => {
    file.write(chunk);
    const { replies, rest } = takeReplies(unread + chunk.toString('utf8'));
    for (const reply of replies) waiting.shift()?.(reply);
    unread = rest.slice(-65536);
  });
  let exit: string | undefined;
  /** What testpmd printed in reply to `command`; undefined when it gave no prompt back within 10 s. */
  const command = (line: string) =>
    new Promise<string | undefined>((resolve) => {
      if (exit) return resolve(undefined);
      const timer = setTimeout(() => resolve(undefined), REPLY_WAIT_MS);
      waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      child.stdin!.write(`${line}\n`);
    });
  const exited = child.then(async (r) => {
    forgetPid();
    file.end();
    exit = `${TESTPMD_BINARY} exited (${r.signal ?? `exit ${r.exitCode}`}); its log: ${opts.logPath}`;
    // DPDK leaves its runtime dir (config, sockets) behind; it is ours, named by the prefix.
    await rm(join(DPDK_RUNTIME_DIR, opts.filePrefix), { recursive: true, force: true });
  });
  child.stdin!.on('error', () => undefined); // writes after it exited: exitedWith() says so
  const stop = async () => {
    if (exit) return;
    child.stdin!.end('quit\n');
    if (!(await exitsWithin(exited, 3000))) child.kill('SIGKILL');
    await exited;
  };
  const unregister = onInterrupt(stop);
  void exited.then(unregister);
  const started = Date.now();
  while (!existsSync(opts.socket)) {
    if (exit) throw new InfraError(`the vhost-user backend did not start: ${exit}`, 'read its log');
    if (Date.now() - started > SOCKET_WAIT_MS) {
      await stop();
      throw new InfraError(
        `${TESTPMD_BINARY} made no socket ${opts.socket} within ${SOCKET_WAIT_MS / 1000} s; its log: ${opts.logPath}`,
        'read its log',
      );
    }
    await sleep(100);
  }
  opts.log.debug({ pid, socket: opts.socket }, 'vhost-user backend started');
  return {
    socket: opts.socket,
    forward: async (on) => {
      const reply = await command(on ? 'start' : 'stop');
      return reply !== undefined && (on ? /packet forwarding - ports=/ : /Done\./).test(reply);
    },
    stats: async () => {
      const reply = await command('show port stats 0');
      return reply === undefined ? undefined : parseTestpmdStats(reply);
    },
    exitedWith: () => exit,
    stop,
  };
}
