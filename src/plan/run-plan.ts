import type { Topology } from '../model/topology.js';
import { deviceKind } from '../topology/device-kinds.js';
import { buildKernelCmdline, buildQemuArgs, type Accel } from '../qemu/args.js';
import type { TestStep, Upload } from '../steps/steps.js';

export type InitMode = 'minimal' | 'systemd';
const MINIMAL_INIT = '/sbin/numacage-init';

/** Placeholders in a plan's QEMU argv for what only the boot knows: where the run lives, the QMP dir, the SSH port. */
export const SLOTS = { runDir: '{run-dir}', qmpDir: '{qmp-dir}', sshPort: '{ssh-port}' } as const;

/** What the run asks for, after flags and config are parsed and the topology file is read. */
export interface PlanOptions {
  topology: Topology;
  init: InitMode;
  /** Extra guest kernel command-line words after the topology's. */
  append: string[];
  bootTimeoutSeconds?: number;
  /** Invariant ids in run order. */
  checks: string[];
  /** Commands run after the invariants, each a check; files copied into the guest before them. */
  steps: TestStep[];
  uploads: Upload[];
  kernelLabel?: string;
}

/** What the host's caches and tests say: found by `plan` without building anything, made ready by `run`. */
export interface HostFacts {
  image: { recipe: string; key: string; note: string };
  kernel: { kind: 'stock' | 'built'; vmlinuz: string; initrd?: string; note: string; config?: string };
  accel: { accel: Accel; cpuModel: string; note: string };
}

/** A run described as data: `plan` renders it, `run` materialises its argv and executes it. */
export interface RunPlan extends HostFacts {
  topology: Topology;
  init: InitMode;
  cmdline: string;
  /** QEMU argv (without the binary) with SLOTS where the run dir, QMP dir and SSH port go. */
  argv: string[];
  /** One scratch qcow2 per virtio-blk placed on a node, under the run dir. */
  scratchDisks: string[];
  rootDisk: string;
  bootTimeoutMs: number;
  /** Console silence during boot that counts as a hang. */
  silenceTimeoutMs: number;
  checks: string[];
  steps: TestStep[];
  uploads: Upload[];
  kernelLabel?: string;
  /** Report artifacts, relative to the run dir. */
  artifacts: Record<string, string>;
}

/** Seconds a guest gets to answer SSH: TCG is several times slower than KVM, systemd than the minimal init. */
function defaultBootTimeoutSeconds(accel: Accel, init: InitMode): number {
  const tcg = init === 'systemd' ? 240 : 120;
  return accel === 'kvm' ? tcg / 3 : tcg;
}

/** Console silence while booting that counts as a hang (the stock initramfs is quiet for a few seconds at most). */
const silenceTimeoutSeconds = (accel: Accel) => (accel === 'kvm' ? 20 : 60);

/** Options and host facts → the whole run. Pure. */
export function planRun(o: PlanOptions, host: HostFacts): RunPlan {
  const cmdline = buildKernelCmdline({
    init: o.init === 'minimal' ? MINIMAL_INIT : undefined,
    accel: host.accel.accel,
    extra: [...o.topology.cmdline, ...o.append],
  });
  const rootDisk = `${SLOTS.runDir}/root.qcow2`;
  const scratchDisks = o.topology.devices
    .filter((d) => deviceKind(d.kind).scratchDisk)
    .map((_, i) => `${SLOTS.runDir}/scratch${i}.qcow2`);
  const argv = buildQemuArgs({
    topology: o.topology,
    accel: host.accel.accel,
    cpuModel: host.accel.cpuModel,
    kernel: host.kernel.vmlinuz,
    initrd: host.kernel.initrd,
    cmdline,
    rootDisk,
    scratchDisks,
    qmpSocket: `${SLOTS.qmpDir}/qmp.sock`,
    sshPort: SLOTS.sshPort,
  });
  const bootTimeoutMs = (o.bootTimeoutSeconds ?? defaultBootTimeoutSeconds(host.accel.accel, o.init)) * 1000;
  return {
    ...host,
    topology: o.topology,
    init: o.init,
    cmdline,
    argv,
    scratchDisks,
    rootDisk,
    bootTimeoutMs,
    silenceTimeoutMs: Math.min(bootTimeoutMs, silenceTimeoutSeconds(host.accel.accel) * 1000),
    checks: o.checks,
    steps: o.steps,
    uploads: o.uploads,
    ...(o.kernelLabel ? { kernelLabel: o.kernelLabel } : {}),
    artifacts: {
      console: 'console.log',
      qemuArgv: 'qemu-argv.txt',
      reproducer: 'reproduce.sh',
      probes: 'probe/',
      json: 'report.json',
      junit: 'junit.xml',
      ktap: 'results.ktap',
      ...(host.kernel.config ? { kernelConfig: 'kernel.config' } : {}),
      ...(o.steps.length ? { steps: 'steps/' } : {}),
    },
  };
}

/** Fills the slots of a planned path or argv. */
export function materialise(words: string[], at: { runDir: string; qmpDir: string; sshPort: number }): string[] {
  return words.map((w) =>
    w
      .replaceAll(SLOTS.runDir, at.runDir)
      .replaceAll(SLOTS.qmpDir, at.qmpDir)
      .replaceAll(SLOTS.sshPort, String(at.sshPort)),
  );
}
