import test from 'ava';
import { invariant } from '../../src/invariants/registry.js';
import { judgeRecorded } from '../helpers/recorded.js';

// Recorded 2026-12-05 under TCG, 6.12.118: the stock kernel on private-virtio and private-movable,
// series v1 (0001-0013) and v2 (0001-0031) with private_node=1,user on private-virtio.
const judge = (dir: string, edit?: (text: string) => string) => judgeRecorded(invariant('longterm-pin'), dir, edit);

const MOVED = 'the pin moved 64 of 64 pages off node 1 (64 on node 0)';

test('v1 under ,user: the io_uring registration migrates every page of P (ZONE_MOVABLE) to C', (t) => {
  t.like(judge('series-v1-6.12-private-user'), { outcome: 'fail', problems: [MOVED] });
});

test('v2 (0029) under ,user: the pages are pinned where they are, on P', (t) => {
  t.like(judge('patched-6.12-private-user'), {
    outcome: 'pass',
    summary: 'all 64 pages pinned where they were, on node 1',
  });
});

test('the stock kernel pins in place on an ordinary P, and moves the pages off a movable one (its column)', (t) => {
  t.is(judge('stock-6.12-private-virtio').outcome, 'pass');
  t.like(judge('stock-6.12-private-movable'), { outcome: 'xfail', problems: [MOVED] });
});

test('a private kernel without ,user has no user page on P to pin: not defined', (t) => {
  t.is(judge('patched-6.12-private').outcome, 'skip');
});

// Constructed from patched-6.12-private-user's recording, each edit what the probe prints in that case.
test('a refused registration is a fail, even with every page still on P', (t) => {
  const r = judge('patched-6.12-private-user', (s) => s.replace('"ret":0,"errno":null', '"ret":-1,"errno":"ENOMEM"'));
  t.like(r, { outcome: 'fail', problems: ['the pin of 64 pages on node 1 was refused with ENOMEM'] });
});

test('no io_uring is a skip; io_uring refused to the user, a bind that failed or a missing record is an error', (t) => {
  const setup = (errno: string) => (s: string) =>
    s.replace('"setup_errno":null,"ret":0,"errno":null', `"setup_errno":"${errno}","ret":-1,"errno":"${errno}"`);
  t.is(judge('patched-6.12-private-user', setup('ENOSYS')).outcome, 'skip');
  t.is(judge('patched-6.12-private-user', setup('EPERM')).outcome, 'error');
  const unbound = judge('patched-6.12-private-user', (s) =>
    s
      .replace('"bind_ret":0,"bind_errno":null', '"bind_ret":-1,"bind_errno":"EINVAL"')
      .replace('"before":{"placement":{"1":64}}', '"before":{"placement":{"0":64}}'),
  );
  t.is(unbound.outcome, 'error');
  t.is(judge('patched-6.12-private-user', (s) => s.replace(/^\{.*\}\n/m, '')).outcome, 'error');
});
