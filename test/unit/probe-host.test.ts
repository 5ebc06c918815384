import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { ensureProbeBinary } from '../../src/adapters/probe-binary.js';
import { parseRecords } from '../../src/invariants/records.js';

const pagesOn = (placement: unknown, node: number) =>
  (placement as Record<string, number> | undefined)?.[String(node)] ?? 0;

// The guest probe's own tests, on this single-node host: every call works on node 0, and node 7 does not exist.
const built = (async () => {
  const cache = await dir({ unsafeCleanup: true });
  return { ...(await ensureProbeBinary(cache.path)), cache };
})();

async function probe(...args: string[]) {
  const { path } = await built;
  return parseRecords(execFileSync(path, args, { encoding: 'utf8' })) as (Record<string, unknown> & {
    before?: { placement: unknown };
  })[];
}

test('soft-policy on the only node: five calls, all pages on node 0', async (t) => {
  const recs = await probe('soft-policy', '0', '0');
  t.deepEqual(
    recs.map((r) => r.mode),
    ['MPOL_INTERLEAVE', 'MPOL_PREFERRED_MANY', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED', 'MPOL_PREFERRED_MANY'],
  );
  for (const r of recs) {
    t.is(r.uid, process.getuid!());
    t.is(r.ret, 0);
    t.is(r.errno, null);
    t.is(pagesOn(r.placement, 0), 64);
  }
});

test('mbind to a node that does not exist fails with EINVAL and the pages still land on node 0', async (t) => {
  const [fresh, move] = await probe('bind', '7');
  t.is(fresh!.case, 'fresh');
  t.is(fresh!.ret, -1);
  t.is(fresh!.errno, 'EINVAL');
  t.is(pagesOn(fresh!.placement, 0), 64);
  t.is(move!.case, 'move-strict');
  t.is(move!.errno, 'EINVAL');
  t.deepEqual(move!.before?.placement, { '0': 64 });
});

test('move_pages and migrate_pages report status and placement', async (t) => {
  const [mv] = await probe('move-pages', '0');
  t.deepEqual(mv!.status, Array(16).fill(0));
  t.is(pagesOn(mv!.placement, 0), 16);
  const [bad] = await probe('move-pages', '7');
  t.true(bad!.ret === -1 && (bad!.errno === 'ENODEV' || bad!.errno === 'EINVAL'), JSON.stringify(bad));
  const [mg] = await probe('migrate-pages', '0', '0');
  t.is(mg!.ret, 0);
  t.is(pagesOn(mg!.placement, 0), 16);
});

test('fill reports its pid, each step and a final line', async (t) => {
  const recs = await probe('fill', '8', '4');
  t.deepEqual(
    recs.map((r) => [r.call, r.mib]),
    [
      ['start', 8],
      ['fault', 4],
      ['fault', 8],
      ['done', 8],
    ],
  );
  t.true(typeof recs[0]!.pid === 'number');
  t.is(pagesOn(recs[1]!.placement, 0), 1024);
});

test('a fill bound to a node that does not exist says which call failed and exits 3', async (t) => {
  const { path } = await built;
  const err = t.throws(() => execFileSync(path, ['fill', '8', '4', '7'], { stdio: 'pipe' })) as unknown as {
    status: number;
    stdout: Buffer;
  };
  t.is(err.status, 3);
  const recs = parseRecords(err.stdout.toString());
  t.like(recs.at(-1), { call: 'mbind', errno: 'EINVAL', fatal: true });
});

test('thp records a refused bind with its errno, and where the pages went instead', async (t) => {
  const [r] = await probe('thp', '7');
  t.is(r!.bind_errno, 'EINVAL');
  t.is(pagesOn(r!.placement, 0), 1024);
});

test('bad usage exits 2', async (t) => {
  const { path } = await built;
  const err = t.throws(() => execFileSync(path, ['nope'], { stdio: 'pipe' })) as unknown as { status: number };
  t.is(err.status, 2);
});

test.after.always(async () => (await built).cache.cleanup());

test('lock-resident locks the resident pages of the files processes map, says how many, and stops itself until killed', async (t) => {
  const { path } = await built;
  const locker = execa(path, ['lock-resident'], { reject: false });
  let status = '';
  for (let i = 0; i < 200 && !/^State:\s+T/m.test(status); i++) {
    await new Promise((r) => setTimeout(r, 50));
    status = readFileSync(`/proc/${locker.pid}/status`, 'utf8');
  }
  t.regex(status, /^State:\s+T/m, 'stopped itself');
  const lockedKiB = Number(/^VmLck:\s+(\d+) kB/m.exec(status)?.[1]);
  locker.kill('SIGKILL');
  const { stdout } = await locker;
  const [record] = parseRecords(stdout);
  t.is(record!.probe, 'lock-resident');
  // This test's own node maps the node binary and its libraries, so some pages are resident and locked.
  t.true((record!.files as number) > 0 && (record!.pages as number) > 0, stdout);
  t.is(lockedKiB, (record!.pages as number) * 4, 'VmLck holds exactly the pages it says it locked');
});
