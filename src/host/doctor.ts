import { mkdir, readdir, readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { freemem } from 'node:os';
import { checkKvm } from '../adapters/accel.js';
import { findExecutable, runCommand } from '../adapters/runner.js';
import { TESTPMD_BINARY } from '../adapters/vhost-backend.js';
import { InfraError } from '../model/errors.js';
import type { Logger } from '../log.js';

/** Debian packages numacage needs on the host. */
export const HOST_PACKAGES = [
  'qemu-system-x86',
  'qemu-utils',
  'mmdebstrap',
  'e2fsprogs',
  'util-linux',
  'gcc',
  'libc6-dev',
  'make',
  'bc',
  'bison',
  'flex',
  'libelf-dev',
  'libssl-dev',
  'ccache',
  'cpio',
  'git',
  'xz-utils',
  'linux-source-6.12',
  'debian-archive-keyring',
  // socat: the host end of the guest's restricted network (the traffic forwards, qemu/args.ts).
  'socat',
  // dpdk-testpmd: the host backend of a vhost-user-net device (docs/devices.md).
  'dpdk-dev',
];

/**
 * What numacage's own tests need beyond that: a browser to open the HTML report in, shellcheck for
 * guest/scripts/ and the CI recipes' scripts, rsync for gitlab-ci-local's isolated jobs, and the
 * Python modules of the kernel's scripts/spdxcheck.py, without which checkpatch passes every
 * SPDX-License-Identifier unread (patches/private-node/check-series.sh).
 */
export const TEST_PACKAGES = ['chromium', 'shellcheck', 'rsync', 'python3-ply', 'python3-git'];

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** A failed check that does not stop numacage (e.g. KVM: TCG is used instead). */
  optional?: boolean;
}

const MIN_FREE_DISK_GIB = 10;
const MIN_FREE_MEM_GIB = 4;

async function toolVersion(name: string, cmd: string, args: string[], pattern: RegExp): Promise<DoctorCheck> {
  try {
    const r = await runCommand(cmd, args);
    const m = pattern.exec(r.stdout + r.stderr);
    return {
      name,
      ok: r.exitCode === 0 || m !== null,
      detail: m ? m[1]! : ((r.stdout + r.stderr).trim().split('\n')[0] ?? ''),
    };
  } catch {
    return { name, ok: false, detail: `${cmd} not found` };
  }
}

async function missingPackages(packages = HOST_PACKAGES): Promise<string[]> {
  const r = await runCommand('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\n', ...packages]);
  const installed = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]),
  );
  return packages.filter((p) => !installed.has(p));
}

export async function installPackages(log: Logger, packages = HOST_PACKAGES): Promise<void> {
  const missing = await missingPackages(packages);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0)
    throw new InfraError(`missing host packages: ${missing.join(' ')}`, 'run `numacage doctor --install` as root');
  log.info({ packages: missing.join(' ') }, 'installing host packages with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = await runCommand('apt-get', ['update', '-q'], { env });
  if (update.exitCode !== 0)
    throw new InfraError(`apt-get update failed:\n${update.stderr.trim().split('\n').slice(-5).join('\n')}`);
  const install = await runCommand('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env });
  if (install.exitCode !== 0)
    throw new InfraError(`apt-get install failed:\n${install.stderr.trim().split('\n').slice(-8).join('\n')}`);
}

/**
 * Whether this host is what numacage is made for: Debian 12, whose packages it installs its tools
 * from, and root, which installing them and building the guest image (mmdebstrap) need. Elsewhere
 * it says what to do instead. Pure.
 */
export function hostChecks(osRelease: string, uid: number | undefined): DoctorCheck[] {
  const field = (key: string) => new RegExp(`^${key}="?([^"\\n]*)"?$`, 'm').exec(osRelease)?.[1];
  const pretty = field('PRETTY_NAME') ?? 'a system without /etc/os-release';
  const debian12 = field('ID') === 'debian' && field('VERSION_ID') === '12';
  return [
    {
      name: 'Debian 12',
      ok: debian12,
      optional: true,
      detail: debian12
        ? pretty
        : `${pretty}: numacage installs its host tools from Debian 12 packages with apt-get; install their equivalents by hand (${HOST_PACKAGES.join(' ')}) or run numacage in a Debian 12 VM or container (docs/kvm.md: the container flags)`,
    },
    {
      name: 'root',
      ok: uid === 0,
      detail:
        uid === 0
          ? 'running as root'
          : `running as uid ${uid ?? '?'}: installing packages and building the guest image (mmdebstrap) need root; run numacage as root (sudo -E numacage ...)`,
    },
  ];
}

/**
 * The host's checks. KVM is proven by a real test boot (`kvmFresh`), or taken from this host boot's
 * cached verdict where there is one with a kernel: what `run` trusts anyway, and what `doctor --install`
 * takes, which every CI job runs (a test boot that hangs costs 15 s).
 */
export async function runDoctor(cacheDir: string, { kvmFresh = true } = {}): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = hostChecks(
    await readFile('/etc/os-release', 'utf8').catch(() => ''),
    process.getuid?.(),
  );
  const qemu = await toolVersion(
    'qemu-system-x86_64',
    'qemu-system-x86_64',
    ['--version'],
    /QEMU emulator version (\S+)/,
  );
  checks.push(qemu);
  checks.push(await toolVersion('qemu-img', 'qemu-img', ['--version'], /qemu-img version (\S+)/));
  checks.push(await toolVersion('mmdebstrap', 'mmdebstrap', ['--version'], /mmdebstrap (\S+)/));
  const mke2fs = await toolVersion('mkfs.ext4 -d', 'mkfs.ext4', ['-V'], /mke2fs (\S+)/);
  // -d (populate from a directory) arrived in e2fsprogs 1.43.
  const [maj = 0, min = 0] = mke2fs.detail.split('.').map(Number);
  checks.push({ ...mke2fs, ok: mke2fs.ok && (maj > 1 || min >= 43), detail: `e2fsprogs ${mke2fs.detail}` });
  checks.push(await toolVersion('gcc', 'gcc', ['--version'], /gcc \(.*\) (\S+)/));
  checks.push(await toolVersion('git', 'git', ['--version'], /git version (\S+)/));
  checks.push(await toolVersion('setpriv', 'setpriv', ['--version'], /util-linux (\S+)/));
  const testpmd = findExecutable(TESTPMD_BINARY);
  checks.push({
    name: 'dpdk-testpmd',
    ok: testpmd !== undefined,
    detail: testpmd ? `${testpmd} (vhost-user-net backends)` : 'not found: topologies with a vhost-user-net cannot run',
    optional: true,
  });
  const missing = await missingPackages().catch(() => HOST_PACKAGES);
  checks.push({
    name: 'Debian packages',
    ok: missing.length === 0,
    detail: missing.length ? `missing: ${missing.join(' ')}` : `${HOST_PACKAGES.length} installed`,
  });

  await mkdir(cacheDir, { recursive: true });
  const fs = await statfs(cacheDir);
  const freeGiB = (fs.bavail * fs.bsize) / 2 ** 30;
  checks.push({
    name: 'free disk',
    ok: freeGiB >= MIN_FREE_DISK_GIB,
    detail: `${freeGiB.toFixed(1)} GiB free in ${cacheDir} (needs ${MIN_FREE_DISK_GIB})`,
  });
  const memGiB = freemem() / 2 ** 30;
  checks.push({
    name: 'free memory',
    ok: memGiB >= MIN_FREE_MEM_GIB,
    detail: `${memGiB.toFixed(1)} GiB free (a default guest needs 3 GiB)`,
  });

  if (qemu.ok) {
    const kernel = await anyCachedKernel(cacheDir);
    const kvm = await checkKvm(cacheDir, { fresh: kvmFresh, kernel });
    // A boot sector that ran proves little (here one runs while a Linux kernel hangs): not "usable" until a kernel booted.
    const usable =
      kvm.test === 'kernel'
        ? `usable (-cpu ${kvm.cpuModel}): ${kvm.reason}`
        : `not yet proven: a boot sector ran with -cpu ${kvm.cpuModel}, no kernel tried yet`;
    checks.push({
      name: 'KVM',
      ok: kvm.usable,
      optional: true,
      detail: kvm.usable
        ? usable
        : `KVM unusable (${kvm.reason}), using TCG${kvm.test === 'kernel' ? '' : ' [boot-sector test only: a kernel boot test runs before the first guest]'}`,
    });
  }
  return checks;
}

/** A kernel numacage has already cached (an image's stock kernel or a built one), for the KVM boot test. */
async function anyCachedKernel(cacheDir: string): Promise<string | undefined> {
  for (const [kind, file] of [
    ['images', 'vmlinuz'],
    ['kernels', 'bzImage'],
  ]) {
    const entries = await readdir(join(cacheDir, kind!)).catch(() => [] as string[]);
    for (const e of entries.filter((x) => !x.startsWith('.'))) {
      const path = join(cacheDir, kind!, e, file!);
      if (
        await stat(path).then(
          (st) => st.isFile(),
          () => false,
        )
      )
        return path;
    }
  }
  return undefined;
}

export function renderDoctor(checks: DoctorCheck[]): string {
  return (
    checks.map((c) => `${c.ok ? 'ok  ' : c.optional ? 'note' : 'FAIL'}  ${c.name.padEnd(20)} ${c.detail}`).join('\n') +
    '\n'
  );
}
