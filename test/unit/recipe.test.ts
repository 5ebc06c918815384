import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { dir } from 'tmp-promise';
import { loadRecipe } from '../../src/adapters/image-builder.js';
import { imageCacheKey, parseRecipe, resolveStockKernelPackage, upstreamVersion } from '../../src/image/recipe.js';
import { ConfigError } from '../../src/model/errors.js';
import { markerBootSector, BOOT_SECTOR_MARKER } from '../../src/qemu/boot-sector.js';

const raw = {
  suite: 'bookworm',
  mirrors: ['deb http://deb.debian.org/debian bookworm main'],
  packages: ['openssh-server', 'numactl'],
  stockKernel: 'linux-image-{linux-source-6.12}+deb12-cloud-amd64-unsigned',
  sizeMiB: 2048,
  users: ['probe'],
};

test('the stock kernel package follows the linux-source-6.12 version', (t) => {
  t.is(upstreamVersion('6.12.117-1~deb12u1'), '6.12.117');
  t.is(
    resolveStockKernelPackage(raw.stockKernel, '6.12.117-1~deb12u1'),
    'linux-image-6.12.117+deb12-cloud-amd64-unsigned',
  );
  t.throws(() => resolveStockKernelPackage(raw.stockKernel, undefined), {
    instanceOf: ConfigError,
    message: /linux-source-6\.12/,
  });
});

test('a bad recipe names each bad field and the file', (t) => {
  const err = t.throws(() => parseRecipe({ ...raw, packages: ['Bad Name'], sizeMiB: 10 }, 'x', 'images/x.json'), {
    instanceOf: ConfigError,
  });
  t.regex(err.message, /images\/x\.json/);
  t.regex(err.message, /packages\[0\]: must be a list of Debian package names/);
  t.regex(err.message, /sizeMiB: must be an integer >= 512/);
  t.regex(
    t.throws(() => parseRecipe({ ...raw, users: [null] }, 'x', 'x.json')).message,
    /users\[0\]: must be a list of user names/,
  );
});

test('the image key changes with the recipe, the kernel and the guest files, not with the description', (t) => {
  const r = parseRecipe(raw, 'x', 'x.json');
  const files = { 'guest/init/numacage-init': Buffer.from('#!/bin/sh\n') };
  const k = imageCacheKey(r, 'linux-image-a', files);
  t.is(imageCacheKey({ ...r, description: 'other words' }, 'linux-image-a', files), k);
  t.not(imageCacheKey({ ...r, packages: [...r.packages, 'gdb'] }, 'linux-image-a', files), k);
  t.not(imageCacheKey(r, 'linux-image-b', files), k);
  t.not(imageCacheKey(r, 'linux-image-a', { 'guest/init/numacage-init': Buffer.from('#!/bin/sh\n# changed\n') }), k);
});

test('the KVM test boot sector is a valid 512-byte boot sector carrying the marker', (t) => {
  const s = markerBootSector();
  t.is(s.length, 512);
  t.is(s.readUInt16LE(510), 0xaa55);
  t.true(s.toString('latin1').includes(BOOT_SECTOR_MARKER));
  // mov si, imm16 points at the marker, loaded at 0x7c00.
  t.is(s.readUInt16LE(4) - 0x7c00, s.indexOf(BOOT_SECTOR_MARKER));
});

test('a mirror is an apt source line or a URL, never an option, a file or stdin: a recipe cannot run a command on the host', (t) => {
  for (const bad of [
    '--setup-hook=touch /tmp/owned',
    '--customize-hook=id',
    '-',
    '/etc/apt/sources.list',
    'deb --hook x y',
    'deb http://x bookworm main\n--setup-hook=id',
  ])
    t.regex(
      t.throws(() => parseRecipe({ ...raw, mirrors: [bad] }, 'x', 'evil.json'), { instanceOf: ConfigError }).message,
      /mirrors\[0\]: must be a list of apt source lines/,
      bad,
    );
  for (const good of [
    'deb http://deb.debian.org/debian bookworm main',
    'deb [trusted=yes] file:///srv/mirror bookworm main contrib',
    'deb-src https://deb.debian.org/debian bookworm main',
    'http://deb.debian.org/debian',
  ])
    t.notThrows(() => parseRecipe({ ...raw, mirrors: [good] }, 'x', 'ok.json'), good);
  t.notThrows(() =>
    parseRecipe(
      {
        ...raw,
        mirrors: [
          'deb http://deb.debian.org/debian bookworm main',
          'deb http://deb.debian.org/debian-security bookworm-security main',
        ],
      },
      'x',
      'ok.json',
    ),
  );
});

test('a recipe without what numacage runs in the guest is refused before a build, naming what is missing', async (t) => {
  const tmp = await dir({ unsafeCleanup: true });
  // The recipe of the default image, less sshd and procps: mmdebstrap would succeed, then the guest has no sshd.
  const path = join(tmp.path, 'no-sshd.json');
  writeFileSync(path, JSON.stringify({ ...raw, packages: ['systemd-sysv', 'numactl', 'iproute2'] }));
  const err = await t.throwsAsync(loadRecipe(path), { instanceOf: ConfigError });
  t.regex(err.message, /no-sshd\.json: "packages" lacks openssh-server, procps/);
  writeFileSync(path, JSON.stringify({ ...raw, packages: [...raw.packages, 'systemd-sysv', 'iproute2', 'procps'] }));
  t.is((await loadRecipe(path)).name, 'no-sshd');
  await tmp.cleanup();
});
