import { existsSync } from 'node:fs';
import { progressEvent } from '../model/progress.js';
import { chmod, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { ConfigError, InfraError } from '../model/errors.js';
import { imageCacheKey, parseRecipe, resolveStockKernelPackage, type ImageRecipe } from '../image/recipe.js';
import type { Logger } from '../log.js';
import { ContentStore, manifestOf, type Manifest } from './cache-dir.js';
import { diskFullHint, runChecked, runCommand } from './runner.js';
import { projectPath } from './project.js';
import { previousExitWasUnclean } from './cache-session.js';
import { withLock } from './locks.js';
import { debianSourceVersion } from './kernel-source.js';
import { readJsonFile } from './json-file.js';

export interface ImageArtifact {
  key: string;
  dir: string;
  /** ext4 root filesystem; never written: guests boot through a qcow2 overlay. */
  disk: string;
  stockKernel: { vmlinuz: string; initrd: string; release: string };
  privateKeyPath: string;
  /** Base64 ed25519 host key blob, pinned by the SSH client. */
  hostKey: string;
  users: string[];
  recipe: ImageRecipe;
}

interface ImageMeta {
  key: string;
  recipe: ImageRecipe;
  kernelPackage: string;
  kernelRelease: string;
  hostKey: string;
  builtAt: string;
  buildSeconds: number;
  files?: Manifest;
}

/** Files from guest/ that every image carries; their bytes are part of the cache key. */
const GUEST_FILES = {
  init: 'guest/init/numacage-init',
  network: 'guest/init/10-eth0.network',
  sshd: 'guest/init/sshd-numacage.conf',
} as const;

/** What numacage runs in every guest: sshd, systemd (the image enables systemd-networkd), and the checks' tools. */
const GUEST_PACKAGES = ['systemd-sysv', 'openssh-server', 'numactl', 'iproute2', 'procps'];

export async function loadRecipe(nameOrPath: string): Promise<ImageRecipe> {
  const isPath = nameOrPath.endsWith('.json') || nameOrPath.includes('/');
  const path = isPath ? nameOrPath : projectPath('images', `${nameOrPath}.json`);
  const name = isPath ? nameOrPath.replace(/^.*\//, '').replace(/\.json$/, '') : nameOrPath;
  if (!existsSync(path)) {
    const known = (await readdir(projectPath('images'))).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    throw new ConfigError(
      `unknown image recipe "${nameOrPath}" (no file ${path})`,
      `use one of: ${known.join(', ')}, or a path to a .json recipe`,
    );
  }
  const recipe = parseRecipe(readJsonFile(path, 'image recipe'), name, path);
  const missing = GUEST_PACKAGES.filter((p) => !recipe.packages.includes(p));
  if (missing.length)
    throw new ConfigError(
      `image recipe ${path}: "packages" lacks ${missing.join(', ')}, which numacage needs in every guest`,
      `add them to "packages" (${GUEST_PACKAGES.join(', ')}: sshd, systemd, and the numactl, ip, sysctl and pgrep the checks run)`,
    );
  return recipe;
}

async function readGuestFiles(): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const rel of Object.values(GUEST_FILES)) out[rel] = await readFile(projectPath(rel));
  return out;
}

/** The root filesystem holds the guest's SSH host private key: the owner's to read, nobody's to write. */
const ROOTFS_MODE = 0o400;

/** Images built before it was 0400 were world-readable: tightened on use, where this user may. */
async function tightenRootfs(disk: string, log: Logger): Promise<void> {
  if (((await stat(disk)).mode & 0o777) === ROOTFS_MODE) return;
  await chmod(disk, ROOTFS_MODE).catch((err: Error) =>
    log.warn({ disk, error: err.message }, 'cannot make the image root filesystem 0400 (it holds the SSH host key)'),
  );
}

/** Whether ssh2 can read an OpenSSH key (private or public). */
export const readableKey = (text: string) => !(ssh2.utils.parseKey(text) instanceof Error);

/**
 * An ed25519 key pair for numacage's SSH client. ssh2's generator drops the leading zero bytes of the
 * public key (mscdex/ssh2#1513), so one pair in 256 is one that ssh2 itself cannot read: the guest
 * then never lets the client in. Such a pair is drawn again.
 */
export function clientKeyPair(comment: string): { private: string; public: string } {
  for (let draw = 0; draw < 16; draw++) {
    const keys = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (readableKey(keys.private) && readableKey(keys.public)) return keys;
  }
  throw new InfraError(
    'ssh2 generated 16 unreadable ed25519 key pairs in a row',
    'report it: the ssh2 package is broken',
  );
}

function artifactFrom(dir: string, meta: ImageMeta): ImageArtifact {
  return {
    key: meta.key,
    dir,
    disk: join(dir, 'rootfs.ext4'),
    stockKernel: { vmlinuz: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), release: meta.kernelRelease },
    privateKeyPath: join(dir, 'id_ed25519'),
    hostKey: meta.hostKey,
    users: meta.recipe.users,
    recipe: meta.recipe,
  };
}

export async function imageKey(recipe: ImageRecipe): Promise<{ key: string; kernelPackage: string }> {
  const kernelPackage = resolveStockKernelPackage(recipe.stockKernel, await debianSourceVersion());
  return { key: imageCacheKey(recipe, kernelPackage, await readGuestFiles()), kernelPackage };
}

/** Returns the cached image for the recipe, building it first when absent (or when rebuild is set). */
export async function ensureImage(opts: {
  recipe: ImageRecipe;
  cacheDir: string;
  log: Logger;
  rebuild?: boolean;
}): Promise<ImageArtifact> {
  const { recipe, log } = opts;
  const store = new ContentStore(opts.cacheDir, 'images');
  const { key, kernelPackage } = await imageKey(recipe);
  // A stat per file on every use; every byte hashed after a numacage died uncleanly.
  const full = await previousExitWasUnclean(opts.cacheDir);
  if (full)
    log.warn(
      { image: recipe.name, key },
      'a numacage using this cache died without cleaning up: hashing the image in full before use',
    );
  const hit = async () => {
    const meta = opts.rebuild ? undefined : await store.intactMeta<ImageMeta>(key, { full, log });
    if (!meta) return undefined;
    if (!readableKey(await readFile(join(store.entryPath(key), 'id_ed25519'), 'utf8').catch(() => ''))) {
      log.warn(
        { image: recipe.name, key },
        "the image's SSH client key is unreadable (ssh2's key generator, mscdex/ssh2#1513): building the image again",
      );
      await store.remove(key);
      return undefined;
    }
    log.info({ image: recipe.name, key, ...progressEvent({ stage: 'image', state: 'cached' }) }, 'image cache hit');
    const artifact = artifactFrom(store.entryPath(key), meta);
    await tightenRootfs(artifact.disk, log);
    return artifact;
  };
  // Two runs on a fresh cache: one builds, the other waits and then hits.
  return (
    (await hit()) ??
    withLock(join(opts.cacheDir, 'images'), key, `building image ${key}`, log, async () => (await hit()) ?? build())
  );

  async function build(): Promise<ImageArtifact> {
    const started = Date.now();
    log.info(
      { image: recipe.name, key, kernelPackage, ...progressEvent({ stage: 'image', state: 'building' }) },
      'building image (mmdebstrap + mkfs.ext4 -d)',
    );
    return store.build(key, async (staging) => {
      if (opts.rebuild) await rm(store.entryPath(key), { recursive: true, force: true });
      const meta = await buildInto(staging, recipe, key, kernelPackage, log);
      meta.buildSeconds = Math.round((Date.now() - started) / 100) / 10;
      meta.files = await manifestOf(staging);
      await writeFile(join(staging, 'meta.json'), JSON.stringify(meta, null, 2));
      const dir = await store.commit(staging, key);
      log.info(
        {
          image: recipe.name,
          seconds: meta.buildSeconds,
          ...progressEvent({ stage: 'image', state: 'built', seconds: meta.buildSeconds }),
        },
        'image built',
      );
      return artifactFrom(dir, meta);
    });
  }
}

async function buildInto(
  staging: string,
  recipe: ImageRecipe,
  key: string,
  kernelPackage: string,
  log: Logger,
): Promise<ImageMeta> {
  const root = join(staging, 'root');
  const include = [...recipe.packages, kernelPackage].join(',');
  const t0 = Date.now();
  // In its own PID and mount namespaces: when mmdebstrap ends, however it ends (a SIGKILL 5 s after an
  // interrupt included), the kernel kills what it ran in the chroot (dpkg, maintainer scripts,
  // mkinitramfs) and drops the chroot's /proc, /sys and /dev mounts, so the staging dir can go.
  // `--`: what follows are positionals, whatever they look like (the recipe's schema refuses options too).
  const mmdebstrap = [
    'mmdebstrap',
    '--variant=apt',
    '--mode=root',
    `--include=${include}`,
    '--',
    recipe.suite,
    root,
    ...recipe.mirrors,
  ];
  const mm = await runCommand('unshare', ['--mount', '--pid', '--fork', '--kill-child', '--', ...mmdebstrap], {
    all: true,
  });
  await writeFile(join(staging, 'mmdebstrap.log'), mm.stdout + mm.stderr);
  if (mm.exitCode !== 0) {
    const tail = mm.stderr.trim().split('\n').slice(-12).join('\n');
    const notFound = /Unable to locate package (\S+)|has no installation candidate/.exec(mm.stderr);
    if (notFound)
      throw new ConfigError(
        `image recipe ${recipe.name}: a package cannot be installed:\n${tail}`,
        'fix "packages" or "stockKernel" in the recipe',
      );
    throw new InfraError(
      `mmdebstrap failed (exit ${mm.exitCode}) building in ${staging}:\n${tail}`,
      diskFullHint(mm.stderr) ?? 'check that the Debian mirrors in the recipe are reachable',
    );
  }
  log.info({ seconds: Math.round((Date.now() - t0) / 1000) }, 'root filesystem bootstrapped');

  const guest = await readGuestFiles();
  await writeFile(join(root, 'sbin/numacage-init'), guest[GUEST_FILES.init]!, { mode: 0o755 });
  await mkdir(join(root, 'etc/systemd/network'), { recursive: true });
  await writeFile(join(root, 'etc/systemd/network/10-eth0.network'), guest[GUEST_FILES.network]!);
  await writeFile(join(root, 'etc/ssh/sshd_config.d/numacage.conf'), guest[GUEST_FILES.sshd]!);
  await writeFile(join(root, 'etc/hostname'), 'numacage\n');
  await writeFile(join(root, 'etc/fstab'), '/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  await runChecked('chroot', [root, 'systemctl', 'enable', 'systemd-networkd']);

  const keys = clientKeyPair(`numacage-${key.slice(0, 12)}`);
  await writeFile(join(staging, 'id_ed25519'), keys.private, { mode: 0o600 });
  await writeFile(join(staging, 'id_ed25519.pub'), `${keys.public}\n`);
  await installAuthorizedKey(root, '/root', keys.public);
  for (const user of recipe.users) {
    // Password "*": no password login, yet not "locked", which sshd without PAM would refuse.
    await runChecked('chroot', [root, 'useradd', '--create-home', '--shell', '/bin/bash', '--password', '*', user]);
    await installAuthorizedKey(root, `/home/${user}`, keys.public, user);
  }

  const boot = await readdir(join(root, 'boot'));
  const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
  const initrd = boot.find((f) => f.startsWith('initrd.img-'));
  if (!vmlinuz || !initrd)
    throw new InfraError(`the image has no kernel or initrd in /boot (found: ${boot.join(', ')})`);
  await copyFile(join(root, 'boot', vmlinuz), join(staging, 'vmlinuz'));
  await copyFile(join(root, 'boot', initrd), join(staging, 'initrd.img'));
  const hostKey = (await readFile(join(root, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')).split(' ')[1]!;

  const t1 = Date.now();
  await runChecked('mkfs.ext4', [
    '-q',
    '-F',
    '-L',
    'numacage-root',
    '-d',
    root,
    join(staging, 'rootfs.ext4'),
    `${recipe.sizeMiB}M`,
  ]);
  await chmod(join(staging, 'rootfs.ext4'), ROOTFS_MODE);
  log.info({ seconds: Math.round((Date.now() - t1) / 1000) }, 'ext4 image written');
  await rm(root, { recursive: true, force: true });
  return {
    key,
    recipe,
    kernelPackage,
    kernelRelease: vmlinuz.slice('vmlinuz-'.length),
    hostKey,
    builtAt: new Date().toISOString(),
    buildSeconds: 0,
  };
}

async function installAuthorizedKey(root: string, home: string, publicKey: string, owner?: string): Promise<void> {
  const dir = join(root, home, '.ssh');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, 'authorized_keys'), `${publicKey}\n`, { mode: 0o600 });
  if (owner) await runChecked('chroot', [root, 'chown', '-R', `${owner}:${owner}`, `${home}/.ssh`]);
}
