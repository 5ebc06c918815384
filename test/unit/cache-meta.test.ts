import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { gcCache, renderGc } from '../../src/cache/gc.js';
import { listCache, renderCacheList } from '../../src/cache/ls.js';
import { verifyCache } from '../../src/cache/verify.js';
import { silentLogger } from '../../src/log.js';
import { runInProcess } from '../helpers/in-process.js';
import { fixture } from '../helpers/fixtures.js';
import { mutated, tampered } from '../helpers/generators.js';
import { propertyRuns } from '../helpers/property-runs.js';

// A cache's meta.json files as a crash, a full disk or a careless hand leaves them: cache ls, verify and
// gc over a cache whose entries' meta.json is mutated or tampered with. Each lists, removes or keeps the
// entry (a damaged one is incomplete, or removed and built again), exit 0 (verify: 1 when it removed a damaged
// one), never an internal error (70).

const METAS = ['kernel', 'image', 'kselftests', 'probe'].map((kind) => ({
  dir: { kernel: 'kernels', image: 'images', kselftests: 'kselftests', probe: 'probe' }[kind]!,
  meta: JSON.parse(fixture('cache-meta', `${kind}.meta.json`)) as unknown,
}));

// In RAM where there is a tmpfs: each case's file work (its entries written, listed, verified, removed) is most of its time.
const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'numacage-cache-meta-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A damaged meta.json (mutated or tampered with; as text, or cut short) in one of the cache's four entries. */
const damage = fc.tuple(
  fc
    .nat({ max: METAS.length - 1 })
    .chain((i) =>
      fc.tuple(fc.constant(i), fc.oneof(mutated(fc.constant(METAS[i]!.meta)), tampered(fc.constant(METAS[i]!.meta)))),
    ),
  fc.boolean(),
);
async function withDamagedCache(
  [[i, meta], cutShort]: [[number, unknown], boolean],
  f: (cache: string) => Promise<void>,
) {
  const cache = join(root, `case-${n++}`);
  for (const [j, { dir, meta: original }] of METAS.entries()) {
    const entry = join(cache, dir, (original as { key: string }).key);
    mkdirSync(entry, { recursive: true });
    const text = JSON.stringify(j === i ? meta : original);
    writeFileSync(join(entry, 'meta.json'), j === i && cutShort ? text.slice(0, 40) : text);
  }
  try {
    await f(cache);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

// Serial: runInProcess captures stdout and stderr. Each case runs five commands through the CLI's parser
// (about 60 ms); the loaders behind them are the next property's, at CI's full count.
testProp.serial(
  'cache ls, verify and gc over a meta.json mutated or tampered with: exit 0 (verify 1 on damage), never an internal error',
  [damage],
  (t, damaged) =>
    withDamagedCache(damaged, async (cache) => {
      for (const action of [
        ['ls'],
        ['ls', '--format', 'json'],
        ['verify'],
        ['gc', '--max-size', '1', '--dry-run'],
        ['gc', '--max-size', '1'],
      ]) {
        const r = await runInProcess(['cache', ...action, '--cache-dir', cache]);
        // verify exits 1 when it found (and removed) a damaged entry.
        t.true(
          r.exitCode === 0 || (action[0] === 'verify' && r.exitCode === 1),
          `cache ${action.join(' ')}: exit ${r.exitCode} ${r.message}`,
        );
      }
    }),
  propertyRuns(150),
);

testProp.serial(
  "the same damage through the commands' loaders (list and its rendering, verify, gc): each lists, removes or keeps the entry, never throws",
  [damage],
  (t, damaged) =>
    withDamagedCache(damaged, async (cache) => {
      const log = silentLogger();
      const listing = await listCache(cache);
      t.is(listing.entries.length, METAS.length, 'every entry listed, damaged or not');
      t.true(renderCacheList(listing).length > 0);
      const verified = await verifyCache(cache, log);
      t.is(verified.ok, !/DAMAGED/.test(verified.text), verified.text);
      const dry = await gcCache(cache, { maxSizeBytes: 1, dryRun: true, log });
      t.is(renderGc(dry).length > 0, true);
      const gc = await gcCache(cache, { maxSizeBytes: 1, log });
      // An entry verify adopted (a meta.json without its file list) is in use by this process, as by a run.
      const unused = gc.kept.filter((e) => e.kind !== 'staging' && e.inUse.length === 0);
      t.deepEqual(unused, [], 'over --max-size 1, nothing unused is kept');
    }),
  propertyRuns(2_000),
);
