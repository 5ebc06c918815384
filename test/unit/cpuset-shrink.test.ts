import test from 'ava';
import { readFileSync } from 'node:fs';
import { projectPath } from '../../src/adapters/project.js';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { cpusetShrink } from '../../src/invariants/families/confinement.js';
import type { ProbeContext } from '../../src/invariants/spec.js';
import { contextOf, seriesTopologyContext } from '../helpers/recorded.js';

// test/fixtures/cpuset-shrink: the step's output on patches/private-node/migrate*.topology.json
// (C = 0, P = 1, C2 = 2) from the stock kernel, series v1, 0001-0021 and 0001-0022.
const recorded = (name: string) =>
  readFileSync(projectPath('test', 'fixtures', 'cpuset-shrink', `${name}.txt`), 'utf8');

const context = (profile: ProbeContext['profile']) => seriesTopologyContext('migrate', 'patched-6.12-private', profile);

const outcome = (text: string, profile: ProbeContext['profile'] = 'private') =>
  evaluateInvariant(cpusetShrink, { 'cpuset-shrink': text }, context(profile));

const SHRINK = "the parent's mems {0,1,2} → {0,1}";

test("cpuset-shrink: a child left {P} by its parent puts its pages on P on the stock kernel and is OOM-killed before 0022; with it the child gets the parent's mems", (t) => {
  t.like(outcome(recorded('stock'), 'vanilla'), {
    outcome: 'xfail',
    summary: `after ${SHRINK}, 4096 of its task's pages landed on node 1`,
  });
  for (const [name, profile] of [
    ['series-v1-private', 'private'],
    ['series-v1-private-user', 'private-user'],
    ['series-21-private', 'private'],
  ] as const) {
    const r = outcome(recorded(name), profile);
    t.is(r.outcome, 'fail', name);
    t.is(r.summary, `after ${SHRINK} (the child's effective mems: 1), its task was killed (SIGKILL)`);
    t.regex(r.problems[1]!, /^the console: .*numacage-probe invoked oom-killer/);
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

test('cpuset-shrink: a fill that exits 0 without finishing is an error; the check needs a second ordinary node', (t) => {
  // Constructed from patched-private.txt: the fill's done record dropped, as a probe that stopped early prints.
  const cut = recorded('patched-private').replace(/^\{"probe":"fill","call":"done".*$/m, '');
  t.is(outcome(cut).outcome, 'error');
  const plain = contextOf('patched-6.12-private');
  t.regex(cpusetShrink.unsupported!(plain.topology, plain.roles)!, /no ordinary node besides C/);
});
