import test from 'ava';
import { cpusetMigrate } from '../../src/invariants/families/confinement.js';
import { contextOf, seriesRecordings } from '../helpers/recorded.js';

// test/fixtures/cpuset-migrate: the step's output on patches/private-node/migrate*.topology.json
// (C = 0, P = 1, C2 = 2) from the stock kernel, series v1 and v2.
const { recorded, context, outcome } = seriesRecordings(cpusetMigrate, 'migrate');

const MOVED = 'the cpuset moved 128 of 128 pages onto node 1 as its mems went {0,2} → {0,1}';
const REBOUND = 'the bind to {2}, rebound as the mems went {0,2} → {0,1}, put 128 of 128 new pages on node 1';

test("cpuset-migrate: the stock kernel and v1 move C2's pages onto P (and, where a bind may reach P, rebind onto it); v2 moves them to C", (t) => {
  t.like(outcome(recorded('stock'), 'vanilla'), { outcome: 'xfail', problems: [MOVED, REBOUND] });
  t.like(outcome(recorded('series-v1-private')), { outcome: 'fail', problems: [MOVED] });
  t.like(outcome(recorded('series-v1-private-user'), 'private-user'), { outcome: 'fail', problems: [MOVED, REBOUND] });
  for (const [name, profile] of [
    ['patched-private', 'private'],
    ['patched-private-user', 'private-user'],
  ] as const) {
    const r = outcome(recorded(name), profile);
    t.is(r.outcome, 'pass', `${name}: ${r.summary}`);
    t.is(r.summary, 'mems {0,2} → {0,1}: no page on node 1 (the first half then on node 0, the second on node 0)');
  }
});

test('cpuset-migrate: a task that died without its record is a fail; one that exited 0 without it, or a failed bind, is an error', (t) => {
  // Constructed from patched-private.txt: the fault record dropped and the ending changed to what
  // await_bounded prints for a task it had to kill, and for one that exited cleanly.
  const noRecord = recorded('patched-private').replace(/^\{.*\}$/m, '');
  const hung = outcome(noRecord.replace('# exit 0', '# hung 15'));
  t.is(hung.outcome, 'fail');
  t.is(hung.summary, 'the task did not finish in 15 s (killed with cgroup.kill) after its cpuset went {0,2} → {0,1}');
  t.is(outcome(noRecord).outcome, 'error');
  const badBind = recorded('patched-private').replace(
    '"bind_ret":0,"bind_errno":null',
    '"bind_ret":-1,"bind_errno":"EINVAL"',
  );
  t.regex(outcome(badBind).summary, /the bind to C2 failed \(EINVAL\)/);
});

test('cpuset-migrate needs a second ordinary node', (t) => {
  const plain = contextOf('patched-6.12-private');
  t.regex(cpusetMigrate.unsupported!(plain.topology, plain.roles)!, /no ordinary node besides C/);
  const ctx = context('private');
  t.is(cpusetMigrate.unsupported!(ctx.topology, ctx.roles), undefined);
});
