import test from 'ava';
import { damonMigrate, memorySpread, onlineKernel } from '../../src/invariants/families/agents.js';
import { judgeRecorded, seriesRecordings } from '../helpers/recorded.js';

// damon-migrate: recorded 2026-12-05 under TCG, 6.12.118, in test/fixtures/guest/ (the stock kernel
// on three topologies, series v1 and v2 with private_node=1 on private-virtio).
const damon = (dir: string, edit?: (text: string) => string) => judgeRecorded(damonMigrate, dir, edit);

test('damon-migrate: the stock kernel and v1 move the task pages onto P (the stock column expects it)', (t) => {
  for (const dir of ['stock-6.12-private-virtio', 'stock-6.12-private-movable', 'stock-6.12-hmat-tiered']) {
    const r = damon(dir);
    t.is(r.outcome, 'xfail', dir);
    t.is(r.problems[0], "migrate_cold to node 1 moved 64 of the task's 64 pages onto it", dir);
  }
  const v1 = damon('series-v1-6.12-private');
  t.is(v1.outcome, 'fail');
  t.is(v1.problems[0], "migrate_cold to node 1 moved 64 of the task's 64 pages onto it");
});

test('damon-migrate: v2 (0030) tries the scheme on every byte and applies it to none', (t) => {
  const r = damon('patched-6.12-private');
  t.is(r.outcome, 'pass', r.summary);
  t.regex(r.summary, /^target_nid 1: tried on \d+ bytes, applied to none, all 64 pages still on node 0$/);
});

// Constructed from patched-6.12-private's recording: each edit is what the step prints in that case.
test('damon-migrate: a scheme not seen to run, a kdamond already there, or pages not on C first is an error; no DAMON a skip', (t) => {
  t.is(damon('patched-6.12-private', (s) => s.replace(/^sz_tried \d+$/m, 'sz_tried 4096')).outcome, 'error');
  t.is(damon('patched-6.12-private', () => 'busy: 1 kdamond(s) already set up\n').outcome, 'error');
  t.is(
    damon('patched-6.12-private', (s) =>
      s.replace('"before":{"placement":{"0":64}}', '"before":{"placement":{"0":60,"1":4}}'),
    ).outcome,
    'error',
  );
  t.is(damon('patched-6.12-private', () => '### none\n').outcome, 'skip');
  // Applied to other pages of the ranges while the task's stayed: still a fail.
  t.is(damon('patched-6.12-private', (s) => s.replace(/^sz_applied 0$/m, 'sz_applied 8192')).outcome, 'fail');
});

// memory-spread: test/fixtures/memory-spread, on patches/private-node/migrate*.topology.json (C = 0, P = 1,
// C2 = 2); README.md there.
const spread = seriesRecordings(memorySpread, 'migrate');

test('memory-spread: v1 spreads the page cache onto P, with and without ,user', (t) => {
  for (const [name, profile] of [
    ['series-v1-private', 'private'],
    ['series-v1-private-user', 'private-user'],
  ] as const) {
    const r = spread.outcome(spread.recorded(name), profile);
    t.is(r.outcome, 'fail', name);
    t.regex(r.summary, /^\d+ of 4096 page cache pages spread onto node 1$/, name);
  }
});

test('memory-spread: v2 (0031) spreads over C and C2 only', (t) => {
  for (const [name, profile] of [
    ['patched-private', 'private'],
    ['patched-private-user', 'private-user'],
  ] as const) {
    const r = spread.outcome(spread.recorded(name), profile);
    t.is(r.outcome, 'pass', name);
    t.is(r.summary, '4096 page cache pages spread over nodes 0 (2048) and 2 (2048), none on node 1');
  }
});

test('memory-spread: pages not spread, refused mems or a setup that failed (the mount) are errors; no v1 cpuset files a skip', (t) => {
  const text = spread.recorded('patched-private');
  const outcome = (s: string) => spread.outcome(s).outcome;
  t.is(outcome(text.replace('{"0":2048,"2":2048}', '{"0":4096}')), 'error');
  t.is(outcome(text.replace('mems-accepted 0-2', 'mems-refused Invalid argument')), 'error');
  t.is(outcome(text.replace('mems-accepted 0-2', 'mems-accepted 0,2')), 'error');
  // What memory-spread.sh prints when the mount stays EBUSY for 60 s.
  const mountBusy = spread.outcome(
    '### setup-failed\na cgroup v1 cpuset hierarchy could not be mounted: mount: /run/numacage-cpuset-v1: cpuset already mounted or mount point busy.\n',
  );
  t.is(mountBusy.outcome, 'error');
  t.regex(
    mountBusy.summary,
    /^probe failed: step memory-spread could not set up: a cgroup v1 cpuset hierarchy could not be mounted: /,
  );
  t.is(outcome('### setup\n### none\n'), 'skip');
  t.is(outcome(text.replace(/^\{.*\}\n/m, '')), 'error');
});

// online-kernel: recorded 2026-12-05 under TCG, 6.12.118, in test/fixtures/guest/.
const online = (dir: string, edit?: (text: string) => string) => judgeRecorded(onlineKernel, dir, edit);

test('online-kernel: the stock and lean kernels, and v1, online a block of P into ZONE_NORMAL', (t) => {
  for (const dir of [
    'stock-6.12-private-virtio',
    'stock-6.12-private-movable',
    'stock-6.12-hmat-tiered',
    'lean-6.12-private-virtio',
  ]) {
    const r = online(dir);
    t.is(r.outcome, 'xfail', dir);
    t.regex(r.problems[0]!, /^online_kernel put memory\d+ of node 1 in zone Normal$/, dir);
  }
  for (const dir of ['series-v1-6.12-private', 'series-v1-6.12-private-user']) {
    const r = online(dir);
    t.is(r.outcome, 'fail', dir);
    t.deepEqual(r.problems.length, 2, dir);
    t.regex(r.problems[1]!, /^node 1 is in has_normal_memory \(0-1\)/, dir);
  }
});

test('online-kernel: v2 (0032) refuses online_kernel with EINVAL, and valid_zones offers only Movable', (t) => {
  for (const dir of ['patched-6.12-private', 'patched-6.12-private-user']) {
    const r = online(dir);
    t.is(r.outcome, 'pass', dir);
    t.regex(
      r.summary,
      /^online_kernel of memory\d+ refused \(Invalid argument\); valid_zones offline: Movable; node 1 not in has_normal_memory$/,
    );
  }
});

// Constructed from patched-6.12-private's recording: what the step prints in each case.
test('online-kernel: no block offlined is an error; a block in Movable with P among the normal nodes is a fail', (t) => {
  t.is(online('patched-6.12-private', () => '### offline\ntried 8\n').outcome, 'error');
  t.is(online('patched-6.12-private', () => '### none\n').outcome, 'skip');
  const accepted = (s: string) =>
    s.replace('answer Invalid argument', 'answer ok').replace('state offline', 'state online');
  t.is(online('patched-6.12-private', accepted).outcome, 'pass');
  t.is(
    online('patched-6.12-private', (s) => accepted(s).replace(/^normal_memory 0$/m, 'normal_memory 0-1')).outcome,
    'fail',
  );
});
