import { createWriteStream, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import { join } from 'node:path';
import { InfraError } from '../model/errors.js';
import type { Logger } from '../log.js';
import { takeWholeBlocks, type PortStats } from '../parsers/testpmd.js';
import { killOnProcessExit, onInterrupt } from './cleanup.js';
import { sleep } from './qemu-process.js';
import { vhostBackendArgs } from '../qemu/args.js';
import { findExecutable } from './runner.js';

/** $NUMACAGE_TESTPMD picks another dpdk-testpmd. */
export const TESTPMD_BINARY = process.env.NUMACAGE_TESTPMD || 'dpdk-testpmd';

const SOCKET_WAIT_MS = 15_000;
const STATS_WAIT_MS = 10_000;
/** Where DPDK keeps a root process's runtime files, one dir per --file-prefix. */
const DPDK_RUNTIME_DIR = '/var/run/dpdk';

/** A vhost-user network backend outside QEMU: DPDK's testpmd echoing every frame with its MACs swapped. */
export interface VhostBackend {
  readonly socket: string;
  /** The port's counters from testpmd's next print (it prints every second): read now, they include all that came before. Undefined when none comes within 10 s. */
  nextStats(): Promise<PortStats | undefined>;
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
 * Starts testpmd as the vhost-user server on `socket`, without huge pages or
 * PCI devices, forwarding in a loop with the MACs swapped, its counters
 * printed every second into logPath. Like QEMU it runs under
 * `setpriv --pdeathsig KILL`, so it dies with numacage even on SIGKILL, and
 * at the lowest priority.
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
  const args = vhostBackendArgs(opts.socket, opts.filePrefix);
  // nice 19: its forwarding core polls without pause, and a guest's vCPUs (TCG) must win the CPU from it.
  const child = execa('setpriv', ['--pdeathsig', 'KILL', '--', 'nice', '-n', '19', TESTPMD_BINARY, ...args], {
    stdin: 'ignore',
    all: true,
    buffer: false,
    reject: false,
  });
  const pid = child.pid;
  if (pid === undefined) throw new InfraError(`${TESTPMD_BINARY} did not start`, 'run `numacage doctor`');
  const forgetPid = killOnProcessExit(pid);
  const file = createWriteStream(opts.logPath);
  let tail = '';
  let waiting: ((s: PortStats) => void)[] = [];
  child.all!.on('data', (chunk: Buffer) => {
    file.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-16384);
    // Each whole block (its closing line of #s printed) goes to whoever waits for the next one.
    const { blocks, rest } = takeWholeBlocks(tail);
    tail = rest;
    const stats = blocks.at(-1);
    if (stats) {
      for (const resolve of waiting) resolve(stats);
      waiting = [];
    }
  });
  const nextStats = () =>
    new Promise<PortStats | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), STATS_WAIT_MS);
      waiting.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
  let exit: string | undefined;
  const exited = child.then(async (r) => {
    forgetPid();
    file.end();
    exit = `${TESTPMD_BINARY} exited (${r.signal ?? `exit ${r.exitCode}`}); its log: ${opts.logPath}`;
    // DPDK leaves its runtime dir (config, sockets) behind; it is ours, named by the prefix.
    await rm(join(DPDK_RUNTIME_DIR, opts.filePrefix), { recursive: true, force: true });
  });
  const stop = async () => {
    if (exit) return;
    child.kill('SIGINT');
    if (!(await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]))) child.kill('SIGKILL');
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
  return { socket: opts.socket, nextStats, exitedWith: () => exit, stop };
}
