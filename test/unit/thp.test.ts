import test from 'ava';
import { invariant } from '../../src/invariants/registry.js';
import { judgeRecorded, rawOutputs } from '../helpers/recorded.js';
import { fixture } from '../helpers/fixtures.js';

// Recorded 2026-12-04 under TCG, private_node=1,user (test/fixtures/thp/README.md).
const judge = (dir: string, thp?: string) =>
  judgeRecorded(invariant('thp'), dir, thp === undefined ? undefined : () => thp);

test('v1 and 0001-0026 under ,user: anonymous pages on P stay small, but MADV_COLLAPSE makes shmem huge pages on P', (t) => {
  for (const r of [
    judge('series-v1-6.12-private-user'),
    judge('patched-6.12-private-user', fixture('thp', 'series-at-26-private-user.txt')),
  ]) {
    t.is(r.outcome, 'fail');
    t.deepEqual(r.problems, ['shmem: MADV_COLLAPSE made 4096 kB of huge pages on node 1']);
  }
});

test('v2 (0027) under ,user: MADV_COLLAPSE fails with EINVAL for both, every page stays on P', (t) => {
  const r = judge('patched-6.12-private-user');
  t.is(r.outcome, 'pass', r.summary);
  t.is(r.summary, 'no huge page made on node 1, all pages stayed (MADV_COLLAPSE: anon EINVAL, shmem EINVAL)');
});

test('the stock kernel collapses both on P, an ordinary node there: the vanilla column expects it', (t) => {
  const r = judge('stock-6.12-private-virtio');
  t.is(r.outcome, 'xfail');
  t.deepEqual(r.problems, [
    'anon: MADV_COLLAPSE made 4096 kB of huge pages on node 1',
    'shmem: MADV_COLLAPSE made 4096 kB of huge pages on node 1',
  ]);
});

test('a step whose shmem case is missing, or whose record is of the other memory, is an error', (t) => {
  const text = rawOutputs('patched-6.12-private-user').thp!;
  t.is(judge('patched-6.12-private-user', text.replace(/### thp-shmem[\s\S]*$/, '')).outcome, 'error');
  t.is(judge('patched-6.12-private-user', text.replace(/"memory":"shmem"/, '"memory":"anon"')).outcome, 'error');
});
