import { access, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { file as tmpFile } from 'tmp-promise';
import { InfraError } from '../model/errors.js';
import type { Accel } from '../qemu/args.js';
import { BOOT_SECTOR_MARKER, markerBootSector } from '../qemu/boot-sector.js';
import type { Logger } from '../log.js';
import { QEMU_BINARY } from './qemu-process.js';

export type AccelRequest = Accel | 'auto';

export interface KvmVerdict {
  usable: boolean;
  /** Why KVM is unusable, or how it was proven usable. */
  reason: string;
  /** -cpu model to use with KVM: 'host', or 'max' where the host rejects 'host'. */
  cpuModel: string;
  bootId: string;
}

export interface AccelChoice {
  accel: Accel;
  cpuModel: string;
  kvm?: KvmVerdict;
}

const KVM_BOOT_TIMEOUT_MS = 5000;
/** Tried in order: some hosts reject 'host' and 'max' ("failed to set MSR 0x10a") yet run 'qemu64'. */
const KVM_CPU_MODELS = ['host', 'max', 'qemu64'];

async function hostBootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
}

/** Boots the marker boot sector under KVM: the marker must reach the serial port within a few seconds. */
async function bootMarkerUnderKvm(cpuModel: string): Promise<{ ok: boolean; detail: string }> {
  const img = await tmpFile({ postfix: '.img' });
  try {
    await writeFile(img.path, markerBootSector());
    const child = execa(
      QEMU_BINARY,
      ['-accel', 'kvm', '-cpu', cpuModel, '-m', '64', '-nodefaults', '-display', 'none', '-no-reboot', '-serial', 'stdio',
        '-drive', `file=${img.path},format=raw,if=floppy`],
      { stdin: 'ignore', reject: false, timeout: KVM_BOOT_TIMEOUT_MS, killSignal: 'SIGKILL', buffer: { stdout: false, stderr: true } },
    );
    let out = '';
    const sawMarker = new Promise<boolean>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes(BOOT_SECTOR_MARKER)) resolve(true);
      });
      void child.then(() => resolve(false));
    });
    const ok = await sawMarker;
    child.kill('SIGKILL');
    const r = await child;
    if (ok) return { ok: true, detail: `a test guest printed its marker under -accel kvm -cpu ${cpuModel}` };
    if (r.timedOut) return { ok: false, detail: `nothing within ${KVM_BOOT_TIMEOUT_MS / 1000} s (the guest hangs)` };
    const error = String(r.stderr ?? '').split('\n').find((l) => l.includes('error')) ?? `QEMU exited with ${r.exitCode}`;
    return { ok: false, detail: error.replace(/^.*?error: /, '') };
  } finally {
    await img.cleanup();
  }
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

/** Whether KVM really runs a guest on this host, decided once per host boot and cached. */
export async function checkKvm(cacheDir: string, opts: { fresh?: boolean } = {}): Promise<KvmVerdict> {
  const cached = opts.fresh ? undefined : await cachedKvmVerdict(cacheDir);
  if (cached) return cached;
  const bootId = await hostBootId();
  const cachePath = await verdictPath(cacheDir);
  let verdict: KvmVerdict;
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    const failures: string[] = [];
    verdict = { usable: false, reason: '', cpuModel: 'max', bootId };
    for (const cpuModel of KVM_CPU_MODELS) {
      const r = await bootMarkerUnderKvm(cpuModel);
      if (r.ok) {
        verdict = { usable: true, reason: [r.detail, ...failures].join('; '), cpuModel, bootId };
        break;
      }
      failures.push(`-cpu ${cpuModel}: ${r.detail}`);
      verdict.reason = failures.join('; ');
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    const reason = code === 'ENOENT' ? '/dev/kvm does not exist' : code === 'EACCES' ? 'no read/write access to /dev/kvm' : `cannot open /dev/kvm: ${(err as Error).message}`;
    verdict = { usable: false, reason, cpuModel: 'max', bootId };
  }
  await mkdir(join(cacheDir, 'host'), { recursive: true });
  await writeFile(cachePath, JSON.stringify(verdict, null, 2));
  return verdict;
}

/** Picks the accelerator: KVM only when it really boots a guest; TCG otherwise, said once. */
export async function chooseAccel(request: AccelRequest, cacheDir: string, log: Logger): Promise<AccelChoice> {
  if (request === 'tcg') return { accel: 'tcg', cpuModel: 'max' };
  const kvm = await checkKvm(cacheDir);
  if (kvm.usable) return { accel: 'kvm', cpuModel: kvm.cpuModel, kvm };
  if (request === 'kvm')
    throw new InfraError(`--accel kvm was asked for, but KVM is unusable: ${kvm.reason}`, 'use --accel tcg or auto, or fix KVM on the host');
  log.warn({ reason: kvm.reason }, 'KVM unusable, using TCG');
  return { accel: 'tcg', cpuModel: 'max', kvm };
}
