import test from 'ava';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { invariant } from '../../src/invariants/registry.js';
import { contextOf, rawOutputs } from '../helpers/recorded.js';
import { fixture } from '../helpers/fixtures.js';

// Recorded 2026-12-04 under TCG on private-virtio (test/fixtures/hugetlb-user/README.md).
const V1_USER = 'series-v1-6.12-private-user';
const V2_USER = 'patched-6.12-private-user';

const judge = (dir: string, replace?: string, profile?: 'private-user') => {
  const raw = rawOutputs(dir);
  if (replace !== undefined) raw['hugetlb-user'] = replace;
  const ctx = contextOf(dir, raw);
  return evaluateInvariant(invariant('hugetlb-user'), raw, profile ? { ...ctx, profile } : ctx);
};

test('v1 under ,user: an unbound MAP_HUGETLB is granted on P pool and SIGBUSes; so does a bind to {C,P}', (t) => {
  const r = judge(V1_USER);
  t.is(r.outcome, 'fail');
  t.deepEqual(r.problems, [
    "unbound: mmap accepted, then SIGBUS at huge page 1 of 2: the reservation counted node 1's free huge pages, which its faults cannot take",
    'bound to {0,1}: mmap accepted, then SIGBUS at huge page 1 of 2, 0 on node 1, whose pool had 2 free (the others none)',
  ]);
});

test('0025 alone refuses the unbound reservation; the bind still SIGBUSes until 0026', (t) => {
  const r = judge(V2_USER, fixture('hugetlb-user', 'series-at-25-private-user.txt'));
  t.is(r.outcome, 'fail');
  t.deepEqual(r.problems, [
    'bound to {0,1}: mmap accepted, then SIGBUS at huge page 1 of 2, 0 on node 1, whose pool had 2 free (the others none)',
  ]);
});

test('v2 under ,user: the unbound reservation is refused with ENOMEM and the bind gets P pages', (t) => {
  const r = judge(V2_USER);
  t.is(r.outcome, 'pass', r.summary);
  t.is(r.summary, "unbound: mmap refused with ENOMEM; bound to {0,1}: 2 huge pages from node 1's pool");
});

test('the stock kernel: P is an ordinary node, and both tasks fault its pool pages in', (t) => {
  for (const dir of ['stock-6.12-private-virtio', 'stock-6.12-private-movable']) {
    const r = judge(dir);
    t.is(r.outcome, 'pass', `${dir}: ${r.summary}`);
    t.is(r.summary, "unbound: all 2 huge pages faulted; bound to {0,1}: 2 huge pages from node 1's pool");
  }
  t.is(judge('patched-6.12-private').outcome, 'skip', 'no pool can be grown on P without ,user');
});

test('judged as private, unbound huge pages on P fail; on an ordinary node a refused reservation fails', (t) => {
  // Constructed: the stock kernel's recording (unbound pages on P, which is ordinary there) judged as a
  // private-user kernel, which is what one that left P in C's zonelist would print.
  const onP = judge('stock-6.12-private-virtio', undefined, 'private-user');
  t.is(onP.outcome, 'fail');
  t.deepEqual(onP.problems, ['unbound: 2 huge page(s) on node 1 without a bind that names it']);
  // Constructed: v2's recording (the unbound mmap refused) on the stock kernel, where P's pool is reachable.
  const refused = judge('stock-6.12-private-virtio', rawOutputs(V2_USER)['hugetlb-user']);
  t.is(refused.outcome, 'fail');
  t.is(refused.problems[0], 'unbound: mmap refused with ENOMEM, with 2 free huge pages on node 1, an ordinary node');
});

test('a pool that could not be made on P is the probe failing, never a pass', (t) => {
  const text = rawOutputs(V2_USER)['hugetlb-user']!.replace(/^onp 2$/m, 'onp 1');
  const r = judge(V2_USER, text);
  t.is(r.outcome, 'error');
  t.regex(r.summary, /node 1's pool took 1 of 2 huge pages/);
});
