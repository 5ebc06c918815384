import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { link, mkdir, open, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { withDir } from 'tmp-promise';
import { ContentStore, manifestOf } from '../../src/adapters/cache-dir.js';
import { WorkTree, type ResolvedSource } from '../../src/adapters/kernel-source.js';
import { withLock } from '../../src/adapters/locks.js';
import { gcCache, parseDays, parseSize, renderGc } from '../../src/cache/gc.js';
import { listCache, renderCacheList } from '../../src/cache/ls.js';
import { openCache } from '../../src/cache/sweep.js';
import { silentLogger } from '../../src/log.js';
import { ConfigError } from '../../src/model/errors.js';

const log = silentLogger();
const DAY = 24 * 3600_000;
const daysAgo = (d: number) => new Date(Date.now() - d * DAY);

// meta.json shapes as the builders write them (from a real cache; "files" is added by manifestOf).
const IMAGE_META = {
  recipe: {
    name: 'debian-bookworm',
    description: 'Debian 12 guest',
    suite: 'bookworm',
    mirrors: ['deb http://deb.debian.org/debian bookworm main'],
    packages: ['systemd-sysv', 'openssh-server', 'numactl'],
    stockKernel: 'linux-image-{linux-source-6.12}+deb12-cloud-amd64-unsigned',
    sizeMiB: 2048,
    users: ['probe'],
  },
  kernelPackage: 'linux-image-6.12.117+deb12-cloud-amd64-unsigned',
  kernelRelease: '6.12.117+deb12-cloud-amd64',
  hostKey: 'AAAAC3NzaC1lZDI1NTE5AAAAIJ1N8lP0NBYi3uLoT0cDoduUx6rU/4+VN4FRG/ePpTlh',
  builtAt: '2026-11-27T04:34:36.870Z',
  buildSeconds: 45.9,
};
const kernelMeta = (patches: string[]) => ({
  release: '6.12.117',
  source: 'linux-source-6.12 6.12.117-1~deb12u1',
  patches: patches.map((name) => ({
    name,
    sha256: 'd24be49c6282088ad19277588f6146c99618ce4162ea7b9a57d37aa4dbe1aecc',
  })),
  fragments: ['guest-base', 'numa-mm'],
  builtAt: '2026-11-27T11:58:03.409Z',
  buildSeconds: 18.8,
  objectsBuilt: 28,
});
const KSELFTEST_META = {
  source: 'linux-source-6.12 6.12.117-1~deb12u1',
  patches: [],
  programs: [
    { collection: 'mm', program: 'ksm_functional_tests', timeoutSeconds: 180 },
    { collection: 'mm', program: 'madv_populate', timeoutSeconds: 180 },
  ],
  builtAt: '2026-11-27T11:19:32.100Z',
  buildSeconds: 1.9,
};

const key = (n: number) => String(n).repeat(32);

/** An entry made as the builders make theirs (build, files, manifest, meta.json last, commit), last used daysAgo days ago. */
async function entry(
  cache: string,
  kind: string,
  k: string,
  files: Record<string, number>,
  meta: object,
  lastUseDaysAgo: number,
): Promise<string> {
  const store = new ContentStore(cache, kind);
  await store.build(k, async (staging) => {
    for (const [f, bytes] of Object.entries(files)) await writeFile(join(staging, f), randomBytes(bytes));
    await writeFile(
      join(staging, 'meta.json'),
      JSON.stringify({ key: k, ...meta, files: await manifestOf(staging) }, null, 2),
    );
    await store.commit(staging, k);
  });
  await utimes(join(store.entryPath(k), 'meta.json'), daysAgo(lastUseDaysAgo), daysAgo(lastUseDaysAgo));
  return store.entryPath(k);
}

/** A sparse 64 MiB rootfs.ext4 holding 64 KiB, like an image's. */
async function image(cache: string, k: string, lastUseDaysAgo: number): Promise<string> {
  const dir = await entry(
    cache,
    'images',
    k,
    { vmlinuz: 32 * 1024, 'initrd.img': 32 * 1024 },
    IMAGE_META,
    lastUseDaysAgo,
  );
  return dir;
}

async function sparseFile(path: string, size: number, data: number): Promise<void> {
  const fh = await open(path, 'w');
  await fh.write(randomBytes(data), 0, data, 0);
  await fh.truncate(size);
  await fh.close();
}

/** A Debian work tree and its pristine source, src/ hard-linked to it as `cp -al` makes it, both last used daysAgo. */
async function kernelTrees(
  cache: string,
  k: string,
  lastUseDaysAgo: number,
): Promise<{ work: string; pristine: string }> {
  const pristine = join(cache, 'kernel-src', k);
  const work = join(cache, 'kernel-work', k);
  await mkdir(join(pristine, 'mm'), { recursive: true });
  await mkdir(join(work, 'src', 'mm'), { recursive: true });
  await mkdir(join(work, 'build-2a2b4c43c10f05a8'), { recursive: true });
  for (const f of ['Makefile', 'mm/mempolicy.c']) {
    await writeFile(join(pristine, f), randomBytes(64 * 1024));
    await link(join(pristine, f), join(work, 'src', f));
  }
  await writeFile(join(work, 'build-2a2b4c43c10f05a8', 'vmlinux.o'), randomBytes(128 * 1024));
  await writeFile(join(work, 'applied.json'), JSON.stringify({ files: [] }));
  await writeFile(join(work, '.last-use'), '');
  for (const d of [join(work, '.last-use'), pristine])
    await utimes(d, daysAgo(lastUseDaysAgo), daysAgo(lastUseDaysAgo));
  return { work, pristine };
}

/** What the builders recorded while making the entries: this process is alive, so that would keep them all. */
const forgetOwnUses = (cache: string) => rm(join(cache, 'host', 'in-use'), { recursive: true, force: true });

const ids = (es: { kind: string; key: string }[]) => es.map((e) => `${e.kind}/${e.key}`);

test('--older-than removes exactly the entries not used for that long, of every kind', (t) =>
  withDir(
    async ({ path: cache }) => {
      await image(cache, key(1), 40);
      await image(cache, key(2), 2);
      await entry(cache, 'kernels', key(3), { bzImage: 8192 }, kernelMeta([]), 31);
      await entry(cache, 'kernels', key(4), { bzImage: 8192 }, kernelMeta([]), 29);
      await entry(cache, 'kselftests', key(5), { x: 0 }, KSELFTEST_META, 100);
      await entry(cache, 'probe', key(6).slice(8), { 'numacage-probe': 4096 }, {}, 45);
      await kernelTrees(cache, 'debian-6.12.117-1_deb12u1', 60);
      await forgetOwnUses(cache);

      const r = await gcCache(cache, { olderThanDays: 30, log });
      t.deepEqual(
        ids(r.removed).sort(),
        [
          `images/${key(1)}`,
          `kernels/${key(3)}`,
          `kselftests/${key(5)}`,
          `probe/${key(6).slice(8)}`,
          'kernel-work/debian-6.12.117-1_deb12u1',
          'kernel-src/debian-6.12.117-1_deb12u1',
        ].sort(),
      );
      t.true(r.removed.every((e) => /^not used for \d+ days$/.test(e.why)));
      t.deepEqual(readdirSync(join(cache, 'images')), [key(2)], 'nothing half-removed stays');
      t.deepEqual(readdirSync(join(cache, 'kernels')), [key(4)]);
      t.deepEqual(readdirSync(join(cache, 'kernel-work')), []);
      t.deepEqual(readdirSync(join(cache, 'kernel-src')), []);
      t.is(r.bytesAfter, (await listCache(cache)).totalBytes);
    },
    { unsafeCleanup: true },
  ));

test('--max-size removes the least recently used first and ends at or under the size; hard links count once', (t) =>
  withDir(
    async ({ path: cache }) => {
      await image(cache, key(1), 1);
      for (let i = 2; i <= 6; i++)
        await entry(cache, 'kernels', key(i), { bzImage: 256 * 1024 }, kernelMeta([]), 10 - i);
      const trees = await kernelTrees(cache, 'debian-6.12.117-1_deb12u1', 20);
      await forgetOwnUses(cache);
      const before = await listCache(cache);
      const bytes = (id: string) => before.entries.find((e) => `${e.kind}/${e.key}` === id)!.bytes;
      const sum = before.entries.filter((e) => e.kind !== 'ccache').reduce((s, e) => s + e.bytes, 0);
      const pristine = before.entries.find((e) => e.kind === 'kernel-src')!;
      t.is(pristine.sharedBytes, 128 * 1024, 'the pristine files are in src/ too');
      t.is(before.totalBytes, sum - pristine.sharedBytes, 'hard-linked files count once');

      // Room for the image and about two kernels: the trees go first (oldest), then kernels 2, 3, 4.
      const max = bytes(`images/${key(1)}`) + bytes(`kernels/${key(5)}`) + bytes(`kernels/${key(6)}`) + 1000;
      const dry = await gcCache(cache, { maxSizeBytes: max, dryRun: true, log });
      const r = await gcCache(cache, { maxSizeBytes: max, log });
      t.deepEqual(ids(r.removed), [
        'kernel-work/debian-6.12.117-1_deb12u1',
        'kernel-src/debian-6.12.117-1_deb12u1',
        `kernels/${key(2)}`,
        `kernels/${key(3)}`,
        `kernels/${key(4)}`,
      ]);
      t.deepEqual(ids(dry.removed), ids(r.removed), 'a dry run names the same');
      t.true(r.removed.every((e) => e.why === 'least recently used, over --max-size'));
      t.true(r.bytesAfter <= max);
      t.is((await listCache(cache)).totalBytes, r.bytesAfter);
      t.false(existsSync(trees.work));
      t.regex(renderGc(r), /removed {2}kernels\/2{32} .*least recently used/);
      t.regex(renderGc(r), /freed .*, --max-size /);
    },
    { unsafeCleanup: true },
  ));

test("an entry a live pid recorded is kept even when it is the oldest; a dead pid's record protects nothing", (t) =>
  withDir(
    async ({ path: cache }) => {
      await entry(cache, 'kernels', key(1), { bzImage: 8192 }, kernelMeta([]), 50);
      await entry(cache, 'kernels', key(2), { bzImage: 8192 }, kernelMeta([]), 40);
      await image(cache, key(3), 30);
      await forgetOwnUses(cache);
      const dead = spawnSync('true').pid!;
      await mkdir(join(cache, 'host', 'in-use'), { recursive: true });
      await writeFile(join(cache, 'host', 'in-use', String(process.pid)), `kernels/${key(1)}\n`);
      await writeFile(join(cache, 'host', 'in-use', String(dead)), `kernels/${key(2)}\nimages/${key(3)}\n`);

      const listed = await listCache(cache);
      t.deepEqual(listed.entries.find((e) => e.key === key(1))!.inUse, [`pid ${process.pid}`]);
      t.regex(renderCacheList(listed), new RegExp(`kernels +1{32} .* pid ${process.pid} `));
      t.false(existsSync(join(cache, 'host', 'in-use', String(dead))), 'the record of a dead pid is dropped');

      const r = await gcCache(cache, { maxSizeBytes: 0, log });
      t.deepEqual(ids(r.removed), [`kernels/${key(2)}`, `images/${key(3)}`]);
      t.deepEqual(ids(r.kept), [`kernels/${key(1)}`]);
      t.true(existsSync(join(cache, 'kernels', key(1), 'bzImage')));
      t.regex(renderGc(r), /kept {2}kernels\/1{32} .*in use: pid \d+/);
      t.regex(renderGc(r), /still over --max-size/);
    },
    { unsafeCleanup: true },
  ));

test('a held tree.lock protects the work tree and its pristine source; once released both go', (t) =>
  withDir(
    async ({ path: cache }) => {
      const { work, pristine } = await kernelTrees(cache, 'debian-6.12.117-1_deb12u1', 90);
      await forgetOwnUses(cache);
      await withLock(work, 'tree', 'building', log, async () => {
        const listed = await listCache(cache);
        t.deepEqual(
          listed.entries.filter((e) => e.inUse.includes('tree.lock held')).map((e) => e.kind),
          ['kernel-work', 'kernel-src'],
        );
        const r = await gcCache(cache, { olderThanDays: 1, log });
        t.deepEqual(r.removed, []);
        t.true(existsSync(join(work, 'src', 'Makefile')) && existsSync(join(pristine, 'Makefile')));
      });
      const r = await gcCache(cache, { olderThanDays: 1, log });
      t.deepEqual(ids(r.removed), ['kernel-work/debian-6.12.117-1_deb12u1', 'kernel-src/debian-6.12.117-1_deb12u1']);
      t.false(existsSync(work));
      t.false(existsSync(pristine));
    },
    { unsafeCleanup: true },
  ));

test('an image whose build lock is held is kept', (t) =>
  withDir(
    async ({ path: cache }) => {
      await image(cache, key(1), 90);
      await forgetOwnUses(cache);
      await withLock(join(cache, 'images'), key(1), 'building', log, async () => {
        const r = await gcCache(cache, { olderThanDays: 1, log });
        t.deepEqual(r.removed, []);
        t.deepEqual(r.kept.find((e) => e.key === key(1))!.inUse, ['build lock held']);
      });
    },
    { unsafeCleanup: true },
  ));

test("staging dirs: a dead process's, older than an hour, goes; a live one's or a young one stays", (t) =>
  withDir(
    async ({ path: cache }) => {
      const dead = spawnSync('true').pid!;
      const old = join(cache, 'kernels', `.staging-${key(1).slice(0, 12)}-${dead}-0badf00d`);
      const live = join(cache, 'kernels', `.staging-${key(2).slice(0, 12)}-${process.pid}-0badf00d`);
      const young = join(cache, 'images', `.removing-${key(3).slice(0, 12)}-${dead}-0badf00d`);
      const pristine = join(cache, 'kernel-src', `debian-6.12.117-1_deb12u1.staging-${dead}`);
      for (const d of [old, live, young, pristine]) {
        await mkdir(d, { recursive: true });
        await writeFile(join(d, 'build.log'), randomBytes(4096));
      }
      for (const d of [old, live, pristine]) await utimes(d, daysAgo(1), daysAgo(1));
      const listed = await listCache(cache);
      t.deepEqual(listed.entries.map((e) => [e.kind, e.key, e.inUse.join()]).sort(), [
        ['staging', `images/${young.split('/').pop()}`, 'younger than an hour'],
        ['staging', `kernel-src/debian-6.12.117-1_deb12u1.staging-${dead}`, ''],
        ['staging', `kernels/${old.split('/').pop()}`, ''],
        ['staging', `kernels/${live.split('/').pop()}`, `pid ${process.pid} (running)`],
      ]);
      t.is(listed.totalBytes, 0, 'staging dirs are no entries');
      const r = await gcCache(cache, { log });
      t.deepEqual(r.removed.map((e) => e.path).sort(), [old, pristine].sort());
      t.true(existsSync(live) && existsSync(young));
    },
    { unsafeCleanup: true },
  ));

test("every numacage that opens the cache first removes a dead process's staging dirs gc would remove, and no more", (t) =>
  withDir(
    async ({ path: cache }) => {
      // A kernel build SIGKILLed mid-make left its staging dir; every later kernel-build test saw it (CI of 48fa5c1).
      const dead = spawnSync('true').pid!;
      const old = join(cache, 'kernels', `.staging-${key(1).slice(0, 12)}-${dead}-0badf00d`);
      const live = join(cache, 'kernels', `.staging-${key(2).slice(0, 12)}-${process.pid}-0badf00d`);
      const young = join(cache, 'images', `.staging-${key(3).slice(0, 12)}-${dead}-0badf00d`);
      const workSrc = join(cache, 'kernel-work', 'debian-6.12.117-1_deb12u1', `src.staging-${dead}`);
      const entry = join(cache, 'kernels', key(4));
      for (const d of [old, live, young, workSrc, entry]) {
        await mkdir(d, { recursive: true });
        await writeFile(join(d, 'build.log'), randomBytes(4096));
      }
      for (const d of [old, live, workSrc, entry]) await utimes(d, daysAgo(1), daysAgo(1));
      await openCache(cache, log);
      t.deepEqual(
        [old, live, young, workSrc, entry].map((d) => existsSync(d)),
        [false, true, true, false, true],
      );
    },
    { unsafeCleanup: true },
  ));

test("a removed kernel's request memos go with it; the others stay", (t) =>
  withDir(
    async ({ path: cache }) => {
      await entry(cache, 'kernels', key(1), { bzImage: 8192 }, kernelMeta([]), 50);
      await entry(cache, 'kernels', key(2), { bzImage: 8192 }, kernelMeta([]), 1);
      await forgetOwnUses(cache);
      await mkdir(join(cache, 'kernels', 'requests'));
      await writeFile(join(cache, 'kernels', 'requests', 'aaaa'), key(1));
      await writeFile(join(cache, 'kernels', 'requests', 'bbbb'), key(2));
      t.deepEqual(
        ids((await listCache(cache)).entries),
        [`kernels/${key(1)}`, `kernels/${key(2)}`],
        'requests is no entry',
      );
      await gcCache(cache, { olderThanDays: 10, log });
      t.deepEqual(readdirSync(join(cache, 'kernels', 'requests')), ['bbbb']);
    },
    { unsafeCleanup: true },
  ));

test('cache ls: kinds, disk usage (a sparse image counts what it holds), last use, inputs, ccache and totals', (t) =>
  withDir(
    async ({ path: cache }) => {
      const img = await image(cache, key(1), 3);
      await sparseFile(join(img, 'rootfs.ext4'), 64 * 2 ** 20, 64 * 1024);
      await entry(
        cache,
        'kernels',
        key(2),
        { bzImage: 8192 },
        kernelMeta([
          '/work/main/test/fixtures/series/mbind-warn/series.mbox #1: [PATCH 1/4] mm/mempolicy: say why',
          '0002-mm-b.patch',
        ]),
        1,
      );
      await entry(cache, 'kselftests', key(3), { x: 100 }, KSELFTEST_META, 0);
      await entry(cache, 'probe', key(4).slice(8), { 'numacage-probe': 4096 }, {}, 0);
      await kernelTrees(cache, 'debian-6.12.117-1_deb12u1', 7);
      await mkdir(join(cache, 'ccache', '0'), { recursive: true });
      await writeFile(join(cache, 'ccache', '0', 'x'), randomBytes(40960));
      await mkdir(join(cache, 'host', 'sessions'), { recursive: true });
      await forgetOwnUses(cache);

      const listed = await listCache(cache);
      t.deepEqual(
        listed.entries.map((e) => e.kind),
        ['images', 'kernels', 'kselftests', 'probe', 'kernel-work', 'kernel-src', 'ccache'],
      );
      const imgEntry = listed.entries[0]!;
      t.true(imgEntry.bytes < 2 * 2 ** 20, `the sparse image counts ${imgEntry.bytes} bytes`);
      t.true(imgEntry.bytes >= 64 * 1024 + 64 * 1024);
      t.deepEqual(imgEntry.inputs, {
        recipe: 'debian-bookworm',
        packages: ['systemd-sysv', 'openssh-server', 'numactl'],
        kernelPackage: 'linux-image-6.12.117+deb12-cloud-amd64-unsigned',
      });
      t.is(Math.round((Date.now() - Date.parse(imgEntry.lastUse!)) / DAY), 3);
      const work = listed.entries.find((e) => e.kind === 'kernel-work')!;
      t.is(work.sharedBytes, 2 * 64 * 1024);
      t.deepEqual(work.inputs, { source: 'debian-6.12.117-1_deb12u1', buildDirs: 1 });
      t.deepEqual(listed.entries.find((e) => e.kind === 'kselftests')!.inputs.programs, [
        'mm/ksm_functional_tests',
        'mm/madv_populate',
      ]);
      const ccache = listed.entries.find((e) => e.kind === 'ccache')!;
      t.true(ccache.bytes >= 40960);
      t.is(
        listed.totalBytes,
        listed.entries.filter((e) => e.kind !== 'ccache').reduce((s, e) => s + e.bytes, 0) - work.sharedBytes,
      );
      t.notThrows(() => JSON.parse(JSON.stringify(listed)));

      const text = renderCacheList(listed);
      t.regex(text, /disk usage: allocated blocks/);
      t.regex(
        text,
        /images +1{32} +\d+ KiB +\d{4}-\d\d-\d\d \d\d:\d\dZ, 3 days ago +- +recipe debian-bookworm \(systemd-sysv, openssh-server, numactl\), linux-image-6\.12\.117/,
      );
      t.regex(
        text,
        /kernels +2{32} .*6\.12\.117 from linux-source-6\.12 6\.12\.117-1~deb12u1; fragments guest-base, numa-mm; 2 patches: series\.mbox #1: \[PATCH 1\/4\] mm\/mempolicy: say why, 0002-mm-b\.patch/,
      );
      t.regex(text, /kselftests .*mm\/ksm_functional_tests, mm\/madv_populate from linux-source-6\.12/);
      t.regex(
        text,
        /kernel-work +debian-6\.12\.117-1_deb12u1 +\d+ KiB \(128 KiB shared\) .*7 days ago .*work tree of debian-6\.12\.117-1_deb12u1, 1 build dir/,
      );
      t.regex(text, /ccache +- +\d+ KiB .*gc leaves it alone/);
      t.regex(
        text,
        /entries: 6 \(images 1, kernels 1, kselftests 1, probe 1, kernel-work 1, kernel-src 1\), [\d.]+ (KiB|MiB); ccache \d+ KiB\nin all: /,
      );
      t.false(/host|sessions/.test(text));
    },
    { unsafeCleanup: true },
  ));

test('a hit records the use (host/in-use/<pid>) before it looks, and makes now its last use without disturbing the manifest', (t) =>
  withDir(
    async ({ path: cache }) => {
      const store = new ContentStore(cache, 'kernels');
      const dir = store.entryPath(key(1));
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'bzImage'), randomBytes(8192));
      await writeFile(
        join(dir, 'meta.json'),
        JSON.stringify({ key: key(1), ...kernelMeta([]), files: await manifestOf(dir) }),
      );
      await utimes(join(dir, 'meta.json'), daysAgo(20), daysAgo(20));
      t.truthy(await store.intactMeta(key(1), { full: true, log }));
      t.true(Date.now() - statSync(join(dir, 'meta.json')).mtimeMs < 60_000);
      t.false(await store.claim(key(2)));
      t.is(
        await readFile(join(cache, 'host', 'in-use', String(process.pid)), 'utf8'),
        `kernels/${key(1)}\nkernels/${key(2)}\n`,
        'a miss is recorded too: the build that follows is a use',
      );
      t.truthy(await store.intactMeta(key(1), { full: true, log }), 'still intact after the touch');
      t.deepEqual((await listCache(cache)).entries[0]!.inUse, [`pid ${process.pid}`]);
    },
    { unsafeCleanup: true },
  ));

test('parseSize: bytes and K/M/G/T (binary), with or without i/B; anything else is a ConfigError naming it', (t) => {
  t.is(parseSize('1024'), 1024);
  t.is(parseSize('20G'), 20 * 2 ** 30);
  t.is(parseSize('500M'), 500 * 2 ** 20);
  t.is(parseSize('1.5GiB'), 1.5 * 2 ** 30);
  t.is(parseSize('2 tb'), 2 * 2 ** 40);
  t.is(parseSize('64k'), 65536);
  t.is(parseSize('0'), 0);
  t.is(parseSize('100B'), 100);
  for (const bad of ['', 'G', '-1G', '1.5.2G', '10X', '20 GG', 'Infinity', '1e9', 'iB']) {
    const err = t.throws(() => parseSize(bad), { instanceOf: ConfigError }, bad);
    t.true(err!.message.includes(`--max-size ${bad}:`), err!.message);
  }
  t.is(parseDays('30'), 30);
  t.is(parseDays('0.5'), 0.5);
  t.is(parseDays(7), 7);
  for (const bad of ['0', '-3', 'ten', '', '3d'])
    t.throws(() => parseDays(bad), {
      instanceOf: ConfigError,
      message: new RegExp(`--older-than ${bad}: not a positive number`),
    });
});

// A tiny "Debian tarball", so that a work tree is made as for a real kernel (tar, cp -al, patch) in a second.
async function tinySource(dir: string): Promise<ResolvedSource> {
  await mkdir(join(dir, 'linux', 'mm'), { recursive: true });
  await writeFile(join(dir, 'linux', 'Makefile'), 'all:\n');
  await writeFile(join(dir, 'linux', 'mm', 'mempolicy.c'), 'int policy = 0;\n');
  spawnSync('tar', ['-cf', join(dir, 'linux.tar'), '-C', dir, 'linux']);
  return { source: { kind: 'debian', tarball: join(dir, 'linux.tar') }, key: 'debian-tiny', description: 'tiny' };
}
const PATCH = {
  name: 'p',
  text: '--- a/mm/mempolicy.c\n+++ b/mm/mempolicy.c\n@@ -1 +1 @@\n-int policy = 0;\n+int policy = 1;\n',
};

test('after gc removed the pristine source alone, or the work tree alone, the next use makes what is missing', (t) =>
  withDir(
    async ({ path: cache }) => {
      const resolved = await tinySource(cache);
      const tree = new WorkTree(cache, resolved);
      const use = (patches: (typeof PATCH)[]) =>
        withLock(tree.dir, 'tree', 'building', log, async () => {
          await tree.prepare(log);
          await tree.apply(patches);
        });
      await use([PATCH]);
      t.is(await readFile(join(tree.src, 'mm/mempolicy.c'), 'utf8'), 'int policy = 1;\n');
      t.is(
        await readFile(join(cache, 'host', 'in-use', String(process.pid)), 'utf8'),
        'kernel-work/debian-tiny\nkernel-src/debian-tiny\n',
      );
      t.true(Date.now() - statSync(join(tree.dir, '.last-use')).mtimeMs < 60_000, "the use is the tree's last use");
      await forgetOwnUses(cache);

      // gc takes the pristine source only: reset() needs it, so it comes back, and the patch is undone from it.
      await utimes(join(cache, 'kernel-src', 'debian-tiny'), daysAgo(9), daysAgo(9));
      t.deepEqual(ids((await gcCache(cache, { olderThanDays: 5, log })).removed), ['kernel-src/debian-tiny']);
      await use([]);
      t.is(await readFile(join(tree.src, 'mm/mempolicy.c'), 'utf8'), 'int policy = 0;\n');
      t.true(existsSync(join(cache, 'kernel-src', 'debian-tiny', 'Makefile')));
      await forgetOwnUses(cache);

      // gc takes the work tree only: made again from the pristine source.
      await utimes(join(tree.dir, '.last-use'), daysAgo(9), daysAgo(9));
      t.deepEqual(ids((await gcCache(cache, { olderThanDays: 5, log })).removed), ['kernel-work/debian-tiny']);
      t.false(existsSync(tree.dir));
      await use([PATCH]);
      t.is(await readFile(join(tree.src, 'mm/mempolicy.c'), 'utf8'), 'int policy = 1;\n');
      t.is(statSync(join(tree.src, 'Makefile')).nlink, 2, 'src is hard-linked to the pristine source again');
    },
    { unsafeCleanup: true },
  ));

// A meta.json cut short (a crash mid-write, a full disk) or not an object (a hand edit): a damaged entry for
// every reader, never an internal error. Made by writing those bytes where a builder writes its meta.json.
for (const [what, text] of [
  ['cut short', '{"key":"0123'],
  ['not an object', '[1]'],
] as const)
  test(`a meta.json ${what}: ls lists it as incomplete, verify and a run's lookup remove it, none throws`, async (t) => {
    await withDir(
      async ({ path: cache }) => {
        const key = 'a'.repeat(32);
        const dir = join(cache, 'kernels', key);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'meta.json'), text);
        await writeFile(join(dir, 'bzImage'), 'x');
        const listing = await listCache(cache);
        t.regex(renderCacheList(listing), /kernels\s+a{32}.*no meta\.json, or one that is not a JSON object/);
        t.is(await new ContentStore(cache, 'kernels').intactMeta(key, { full: false, log }), undefined);
        t.false(existsSync(dir), "the run's lookup removed it");
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'meta.json'), text);
        const { verifyCache } = await import('../../src/cache/verify.js');
        const v = await verifyCache(cache, log);
        t.false(v.ok);
        t.regex(v.text, /DAMAGED {3}kernels\/a{32}: meta\.json is not a JSON object; removed/);
        t.false(existsSync(dir));
      },
      { unsafeCleanup: true },
    );
  });
