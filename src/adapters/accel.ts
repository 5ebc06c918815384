import { access, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { withFile } from 'tmp-promise';
import { InfraError } from '../model/errors.js';
import type { Accel } from '../qemu/args.js';
import { BOOT_SECTOR_MARKER, markerBootSector } from '../qemu/boot-sector.js';
import { cancellable, trackChild } from './cancel.js';
import { killOnProcessExit } from './cleanup.js';
import type { Logger } from '../log.js';
import { QEMU_BINARY } from './qemu-process.js';

export type AccelRequest = Accel | 'auto';

export interface KvmVerdict {
  usable: boolean;
  /** Why KVM is unusable, or how it was proven usable. */
  reason: string;
  /** -cpu model to use with KVM. */
  cpuModel: string;
  bootId: string;
  /** 'kernel': a Linux kernel booted to its root mount; 'boot-sector': only a 512-byte guest ran (no kernel was at hand). */
  test: 'kernel' | 'boot-sector';
}

export interface AccelChoice {
  accel: Accel;
  cpuModel: string;
  kvm?: KvmVerdict;
}

/** Tried in order: some hosts reject 'host' and 'max' ("failed to set MSR 0x10a") yet run 'qemu64'. */
const KVM_CPU_MODELS = ['host', 'max', 'qemu64'];
const KVM_TEST_TIMEOUT_MS = { kernel: 15_000, 'boot-sector': 5000 };
/** A kernel with no root device panics right after it gets to mounting root: that far, KVM works. */
const KERNEL_REACHED_ROOT = /VFS: Unable to mount root fs|Run \/init as init process/;

async function hostBootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
}

/** Boots a real guest under KVM (the given kernel, or a 512-byte boot sector in a scoped temp file) and waits for its marker. */
async function testBootUnderKvm(
  cpuModel: string,
  kernel: string | undefined,
): Promise<{ ok: boolean; detail: string }> {
  if (kernel)
    return kvmTestBoot(
      cpuModel,
      'kernel',
      ['-smp', '2', '-m', '256', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1'],
      KERNEL_REACHED_ROOT,
    );
  return withFile(
    async ({ path }) => {
      await writeFile(path, markerBootSector());
      return kvmTestBoot(
        cpuModel,
        'boot-sector',
        ['-m', '64', '-drive', `file=${path},format=raw,if=floppy`],
        new RegExp(BOOT_SECTOR_MARKER),
      );
    },
    { postfix: '.img' },
  );
}

async function kvmTestBoot(
  cpuModel: string,
  test: 'kernel' | 'boot-sector',
  guest: string[],
  marker: RegExp,
): Promise<{ ok: boolean; detail: string }> {
  const timeoutMs = KVM_TEST_TIMEOUT_MS[test];
  const what = test === 'kernel' ? 'kernel' : 'guest';
  // Like every guest: under pdeathsig, killed if numacage exits meanwhile, and with the command's cancellation.
  const child = execa(
    'setpriv',
    [
      '--pdeathsig',
      'KILL',
      '--',
      QEMU_BINARY,
      '-accel',
      'kvm',
      '-cpu',
      cpuModel,
      '-nodefaults',
      '-display',
      'none',
      '-no-reboot',
      '-serial',
      'stdio',
      ...guest,
    ],
    {
      stdin: 'ignore',
      reject: false,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      buffer: { stdout: false, stderr: true },
      ...cancellable(),
    },
  );
  trackChild(child);
  const forget = child.pid === undefined ? () => undefined : killOnProcessExit(child.pid);
  let out = '';
  const sawMarker = new Promise<boolean>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (marker.test(out)) resolve(true);
    });
    void child.then(() => resolve(false));
  });
  const ok = await sawMarker;
  child.kill('SIGKILL');
  const r = await child;
  forget();
  if (ok) return { ok: true, detail: `a test ${what} booted under -accel kvm -cpu ${cpuModel}` };
  if (r.timedOut)
    return {
      ok: false,
      detail: `the test ${what} hangs (${out.trim() ? 'stopped early in boot' : 'no console output'} within ${timeoutMs / 1000} s)`,
    };
  const error =
    String(r.stderr ?? '')
      .split('\n')
      .find((l) => /error/i.test(l)) ?? `QEMU exited with ${r.exitCode}`;
  return { ok: false, detail: error.replace(/^.*?error: /, '') };
}

async function verdictPath(cacheDir: string): Promise<string> {
  return join(cacheDir, 'host', `kvm-${await hostBootId()}.json`);
}

/** The KVM verdict already reached during this host boot, if any. */
export async function cachedKvmVerdict(cacheDir: string): Promise<KvmVerdict | undefined> {
  try {
    return JSON.parse(await readFile(await verdictPath(cacheDir), 'utf8')) as KvmVerdict;
  } catch {
    return undefined;
  }
}

/**
 * Whether KVM really runs a guest on this host: a real boot of the given
 * kernel (or, with none at hand, of a 512-byte guest), decided once per host
 * boot and cached. A boot-sector verdict is redone once a kernel is given,
 * since a host can run the one and hang on the other.
 */
export async function checkKvm(cacheDir: string, opts: { fresh?: boolean; kernel?: string } = {}): Promise<KvmVerdict> {
  const cached = opts.fresh ? undefined : await cachedKvmVerdict(cacheDir);
  if (cached && (cached.test === 'kernel' || !opts.kernel)) return cached;
  const bootId = await hostBootId();
  const test = opts.kernel ? 'kernel' : 'boot-sector';
  let verdict: KvmVerdict = { usable: false, reason: '', cpuModel: 'max', bootId, test };
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    const failures: string[] = [];
    for (const cpuModel of KVM_CPU_MODELS) {
      const r = await testBootUnderKvm(cpuModel, opts.kernel);
      if (r.ok) {
        verdict = { usable: true, reason: [r.detail, ...failures].join('; '), cpuModel, bootId, test };
        break;
      }
      failures.push(`-cpu ${cpuModel}: ${r.detail}`);
      verdict.reason = failures.join('; ');
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    verdict.reason =
      code === 'ENOENT'
        ? '/dev/kvm does not exist'
        : code === 'EACCES'
          ? 'no read/write access to /dev/kvm'
          : `cannot open /dev/kvm: ${(err as Error).message}`;
  }
  await mkdir(join(cacheDir, 'host'), { recursive: true });
  await writeFile(await verdictPath(cacheDir), JSON.stringify(verdict, null, 2));
  return verdict;
}

let tcgFallbackSaid = false;

/**
 * The accelerator a request gets from a KVM verdict (undefined: no test has
 * run yet, which only `plan` sees). Pure: `plan` and `run` decide alike.
 */
export function accelFromVerdict(request: AccelRequest, kvm: KvmVerdict | undefined): AccelChoice & { note: string } {
  if (request === 'tcg') return { accel: 'tcg', cpuModel: 'max', note: 'TCG (as asked)' };
  if (kvm?.usable)
    return {
      accel: 'kvm',
      cpuModel: kvm.cpuModel,
      kvm,
      note: `KVM (-cpu ${kvm.cpuModel}: a test ${kvm.test === 'kernel' ? 'kernel' : 'boot sector'} booted)`,
    };
  if (!kvm)
    return request === 'kvm'
      ? {
          accel: 'kvm',
          cpuModel: 'host',
          note: 'KVM; the CPU model (host, max or qemu64) is decided by the test boot at run time',
        }
      : { accel: 'tcg', cpuModel: 'max', note: 'TCG unless the KVM test boot passes at run time' };
  if (request === 'kvm')
    return {
      accel: 'tcg',
      cpuModel: 'max',
      kvm,
      note: `KVM asked for but unusable (${kvm.reason}): run stops with exit 3`,
    };
  return { accel: 'tcg', cpuModel: 'max', kvm, note: `TCG (KVM unusable: ${kvm.reason})` };
}

/** Picks the accelerator: KVM only when it really boots a guest; TCG otherwise, said once per process. */
export async function chooseAccel(
  request: AccelRequest,
  cacheDir: string,
  log: Logger,
  kernel: string,
): Promise<AccelChoice & { note: string }> {
  const choice = accelFromVerdict(request, request === 'tcg' ? undefined : await checkKvm(cacheDir, { kernel }));
  if (request === 'kvm' && choice.accel !== 'kvm')
    throw new InfraError(
      `--accel kvm was asked for, but KVM is unusable: ${choice.kvm?.reason}`,
      'use --accel tcg or auto, or fix KVM on the host',
    );
  if (choice.kvm && !choice.kvm.usable) {
    if (!tcgFallbackSaid) log.warn({ reason: choice.kvm.reason }, 'KVM unusable, using TCG');
    tcgFallbackSaid = true;
  }
  return choice;
}
