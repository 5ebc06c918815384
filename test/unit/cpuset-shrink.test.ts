import test from 'ava';
import { cpusetShrink, numaMapsPagesOn } from '../../src/invariants/families/confinement.js';
import { contextOf, seriesRecordings } from '../helpers/recorded.js';

// test/fixtures/cpuset-shrink: the step's output on patches/private-node/migrate*.topology.json
// (C = 0, P = 1, C2 = 2) from the stock kernel, series v1 and v2.
const { recorded, outcome } = seriesRecordings(cpusetShrink, 'migrate');

const SHRINK = "the parent's mems {0,1,2} → {0,1}";

test("cpuset-shrink: the stock kernel and v1 move the task's pages onto P with the shrink, and v1 OOM-kills it; v2 gives the child its parent's mems", (t) => {
  t.like(outcome(recorded('stock'), 'vanilla'), {
    outcome: 'xfail',
    problems: [
      `${SHRINK} moved 15 of the task's own pages onto node 1`,
      `after ${SHRINK}, 4096 of its task's pages landed on node 1`,
    ],
  });
  for (const [name, profile, moved] of [
    ['series-v1-private', 'private', 14],
    ['series-v1-private-user', 'private-user', 15],
  ] as const) {
    const r = outcome(recorded(name), profile);
    t.is(r.outcome, 'fail', name);
    t.is(r.summary, `after ${SHRINK} (the child's effective mems: 1), its task was killed (SIGKILL)`);
    t.is(r.problems[1], `${SHRINK} moved ${moved} of the task's own pages onto node 1`);
    t.regex(r.problems[2]!, /^the console: .*numacage-probe invoked oom-killer/);
  }
  for (const [name, profile] of [
    ['patched-private', 'private'],
    ['patched-private-user', 'private-user'],
  ] as const) {
    const r = outcome(recorded(name), profile);
    t.is(r.outcome, 'pass', `${name}: ${r.summary}`);
    t.is(r.summary, `after ${SHRINK}, the child's effective mems are 0-1 and its task's pages stay off node 1`);
  }
});

test('numa_maps: the pages of every mapping on a node, summed', (t) => {
  const maps = recorded('series-v1-private').split('### numa-maps\n')[1]!.split('###')[0]!;
  t.is(numaMapsPagesOn(maps, 1), 14);
  t.is(numaMapsPagesOn('7f00 default anon=2 N10=2 N1=3\n', 1), 3);
});

test("cpuset-shrink: a parent's mems write that failed without the kernel's reason, or a setup that failed, is an error, not a refusal", (t) => {
  // What a CI run printed (2026-12-05, v1 on migrate) when cpuset had not come back to cgroup v2
  // from memory-spread's v1 hierarchy: the writes could not even open cpuset.mems, and the shell's
  // message went elsewhere. That passed as "refused ()".
  const noReason = outcome(recorded('series-v1-private').replace(/^mems-accepted .*$/m, 'mems-refused '), 'private');
  t.is(noReason.outcome, 'error');
  t.is(noReason.summary, 'probe failed: cpuset-shrink: the cpuset.mems write failed without a reason');
  // What lib.sh's v2_cpuset prints in the same case now.
  const noCpuset = outcome(
    '### setup-failed\ncpuset is no controller of the cgroup v2 root after 60 s (/proc/cgroups: cpuset\t1\t2\t1)\n',
    'private',
  );
  t.is(noCpuset.outcome, 'error');
  t.regex(noCpuset.summary, /^probe failed: step cpuset-shrink could not set up: cpuset is no controller/);
});

test('cpuset-shrink: a fill that exits 0 without finishing, or a numa_maps with no page, is an error; the check needs a second ordinary node', (t) => {
  // Constructed from patched-private.txt: the fill's done record dropped, as a probe that stopped
  // early prints; the numa_maps emptied, as from a task that was already gone.
  const text = recorded('patched-private');
  t.is(outcome(text.replace(/^\{"probe":"fill","call":"done".*$/m, '')).outcome, 'error');
  t.is(outcome(text.replace(/^[0-9a-f]+ default.*$/gm, '')).outcome, 'error');
  const plain = contextOf('patched-6.12-private');
  t.regex(cpusetShrink.unsupported!(plain.topology, plain.roles)!, /no ordinary node besides C/);
});
