import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { progressEvent } from '../model/progress.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageArtifact } from '../adapters/image-builder.js';
import { freeLocalPort } from '../adapters/ports.js';
import { qmpCommand } from '../adapters/qmp.js';
import { onInterrupt } from '../adapters/cleanup.js';
import { QEMU_BINARY, startQemu, type QemuProcess } from '../adapters/qemu-process.js';
import { processAlive, runChecked } from '../adapters/runner.js';
import type { ConsoleBuffer } from '../console/console-buffer.js';
import { waitForSsh } from './readiness.js';
import { CrashWatch } from './crash-watch.js';
import { SshSession, SshTransportError, type ExecResult } from './ssh.js';
import { giveDevicesTheirNodes, startDeviceBackends, stopDeviceBackends } from './device-backends.js';
import type { VhostBackend } from '../adapters/vhost-backend.js';
import type { Logger } from '../log.js';
import { materialise, type RunPlan } from '../plan/run-plan.js';
import { renderCommandLine, renderReproducer } from '../qemu/reproducer.js';
import { trafficSocketPath } from '../qemu/args.js';

export interface BootRequest {
  runDir: string;
  /** The run's plan: QEMU argv with slots, disks, timeouts, init. */
  plan: RunPlan;
  image: ImageArtifact;
  log: Logger;
  /** Where the SSH port comes from (default: one the kernel says is free; tests hand in a taken one). */
  pickPort?: () => Promise<number>;
}

/** A running guest (syzkaller's Instance is the model). */
export interface Guest {
  readonly console: ConsoleBuffer;
  readonly sshPort: number;
  readonly qemu: QemuProcess;
  /** Crash reports seen on the console since the first byte. */
  readonly crashWatch: CrashWatch;
  /** Seconds from QEMU start to the first SSH session. */
  readonly bootToSshSeconds: number;
  exec(command: string, opts?: { timeoutMs?: number; user?: string; input?: Buffer }): Promise<ExecResult>;
  /** An SSH session as another user (e.g. the unprivileged probe user). */
  session(user: string): Promise<SshSession>;
  /** The host process serving placed device `id` (dev0...), when its kind has one. */
  backend(id: string): VhostBackend | undefined;
  /** `size` bytes of guest-physical memory from `addr`, as QEMU reads them (QMP pmemsave into the QMP dir). */
  readPhysical(addr: number, size: number): Promise<Buffer>;
  /** One QMP command to this guest's QEMU; resolves with its "return" value. */
  qmp(execute: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Where the host ends of the guest's traffic forwards listen (qemu/args.ts, trafficSocketPath). */
  readonly trafficSockets: { sink: string; source: string };
  /** The image files of the topology's scratch disks (virtio-blk), in topology order. */
  readonly scratchDisks: string[];
  close(opts?: { keep?: boolean }): Promise<void>;
}

const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
const SSH_ATTEMPT_TIMEOUT_MS = 8000;
const PORT_TRIES = 3;
const SYSTEMD_POWERDOWN_MS = 15_000;
const SCRATCH_DISK_SIZE = '256M';
const QMP_TIMEOUT_MS = 10_000;

const QMP_DIR_PREFIX = 'numacage-qmp-';

async function sweepQmpDirsOfDeadProcesses(): Promise<void> {
  for (const name of await readdir(tmpdir())) {
    const pid = name.startsWith(QMP_DIR_PREFIX) ? parseInt(name.slice(QMP_DIR_PREFIX.length), 10) : 0;
    if (pid && !processAlive(pid)) await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}

export async function bootGuest(req: BootRequest): Promise<Guest> {
  const { plan } = req;
  // A unix socket path must stay under 108 bytes, so the QMP socket lives in a short private dir,
  // named by our pid so that the dir of a numacage that was SIGKILLed is swept by the next one.
  await sweepQmpDirsOfDeadProcesses();
  const qmpDir = await mkdtemp(join(tmpdir(), `${QMP_DIR_PREFIX}${process.pid}-`));
  // Interrupted (SIGINT, SIGTERM), the dir goes too; QEMU is stopped by its own cleanup first.
  const forgetQmpDir = onInterrupt(() => rm(qmpDir, { recursive: true, force: true }));
  const at = (sshPort: number) => ({ runDir: req.runDir, qmpDir, sshPort });
  const [overlay] = materialise([plan.rootDisk], at(0)) as [string];
  const scratchDisks = materialise(plan.scratchDisks, at(0));
  const qmpSocket = join(qmpDir, 'qmp.sock');
  await runChecked('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', req.image.disk, overlay]);
  // An empty scratch disk for each virtio-blk the topology places on a node (the root disk stays on pcie.0).
  for (const disk of scratchDisks) await runChecked('qemu-img', ['create', '-q', '-f', 'qcow2', disk, SCRATCH_DISK_SIZE]);
  const privateKey = await readFile(req.image.privateKeyPath);
  const backends = await startDeviceBackends(plan.topology, qmpSocket, req.runDir, req.log);
  const stopBackends = () => stopDeviceBackends(backends);

  for (let attempt = 1; ; attempt++) {
    const sshPort = await (req.pickPort ?? freeLocalPort)();
    const args = materialise(plan.argv, at(sshPort));
    await writeFile(join(req.runDir, 'qemu-argv.txt'), renderCommandLine(QEMU_BINARY, args) + '\n');
    await writeFile(join(req.runDir, 'reproduce.sh'),
      renderReproducer({ binary: QEMU_BINARY, args, baseImage: req.image.disk, overlay, scratchDisks, qmpSocket, sshPort, privateKey: req.image.privateKeyPath }),
      { mode: 0o755 });
    const started = Date.now();
    req.log.info({ accel: plan.accel.accel, sshPort, init: plan.init, ...progressEvent({ stage: 'boot', state: 'booting', accel: plan.accel.accel, sshPort }) }, 'booting guest');
    const qemu = await startQemu({ args, qmpSocket, consoleLogPath: join(req.runDir, 'console.log'), log: req.log });
    const crashWatch = new CrashWatch(qemu.console);
    void qemu.exited.then(() => crashWatch.finish());
    const target = { port: sshPort, user: 'root', privateKey, hostKey: req.image.hostKey };
    let root: SshSession;
    try {
      root = await waitForSsh(target, qemu, crashWatch, { sshMs: plan.bootTimeoutMs, noOutputMs: plan.silenceTimeoutMs, attemptMs: SSH_ATTEMPT_TIMEOUT_MS });
    } catch (err) {
      await qemu.stop(1000);
      const exit = await qemu.exited;
      // Another process took the port between our choice and QEMU's bind.
      if (attempt < PORT_TRIES && /Could not set up host forwarding rule/.test(exit.stderr)) {
        req.log.warn({ sshPort, attempt }, 'SSH port taken before QEMU could bind it; trying another');
        continue;
      }
      await stopBackends();
      await rm(qmpDir, { recursive: true, force: true });
      forgetQmpDir();
      throw err;
    }
    try {
      await giveDevicesTheirNodes(plan.topology, (command) => root.exec(command, DEFAULT_EXEC_TIMEOUT_MS));
    } catch (err) {
      root.close();
      await qemu.stop(1000);
      await stopBackends();
      await rm(qmpDir, { recursive: true, force: true });
      forgetQmpDir();
      throw err;
    }
    const bootToSshSeconds = (Date.now() - started) / 1000;
    req.log.info({ seconds: bootToSshSeconds.toFixed(1), ...progressEvent({ stage: 'boot', state: 'ssh', seconds: Math.round(bootToSshSeconds * 10) / 10 }) }, 'guest answers SSH');
    const sessions = new Map<string, SshSession>([['root', root]]);
    const session = async (user: string): Promise<SshSession> => {
      let s = sessions.get(user);
      if (!s) sessions.set(user, (s = await SshSession.open({ ...target, user }, SSH_ATTEMPT_TIMEOUT_MS)));
      return s;
    };
    return {
      console: qemu.console,
      sshPort,
      qemu,
      crashWatch,
      bootToSshSeconds,
      async exec(command, opts = {}) {
        const user = opts.user ?? 'root';
        const s = await session(user).catch((err: Error) => {
          throw new SshTransportError(`an SSH session as ${user} could not be opened: ${err.message}`);
        });
        return s.exec(command, opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS, opts.input);
      },
      session,
      backend: (id) => backends.get(id),
      async readPhysical(addr, size) {
        const file = join(qmpDir, `pmem-${addr.toString(16)}-${size}`);
        await qmpCommand(qmpSocket, 'pmemsave', { val: addr, size, filename: file }, QMP_TIMEOUT_MS);
        try {
          return await readFile(file);
        } finally {
          await rm(file, { force: true });
        }
      },
      qmp: (execute, args) => qmpCommand(qmpSocket, execute, args, QMP_TIMEOUT_MS),
      trafficSockets: { sink: trafficSocketPath(qmpSocket, 'sink'), source: trafficSocketPath(qmpSocket, 'source') },
      scratchDisks,
      async close(opts = {}) {
        for (const s of sessions.values()) s.close();
        // A kept overlay should be consistent: systemd gets the power button and a moment to shut down
        // (the minimal init ignores it). A discarded overlay needs no clean shutdown.
        await qemu.stop(3000, opts.keep && plan.init === 'systemd' ? SYSTEMD_POWERDOWN_MS : 0);
        await stopBackends();
        await rm(qmpDir, { recursive: true, force: true });
        forgetQmpDir();
        if (!opts.keep) for (const disk of [overlay, ...scratchDisks]) await rm(disk, { force: true });
      },
    };
  }
}
