import test, { type ExecutionContext } from 'ava';
import { evaluateInvariant } from '../../src/invariants/evaluate.js';
import { KSM_PAGES, ksmCross, ksmRmap, ksmSteps, taskEndings } from '../../src/invariants/families/ksm-cross.js';
import type { InvariantSpec } from '../../src/invariants/spec.js';
import type { CheckResult } from '../../src/model/verdict.js';
import { contextOf, seriesRecordings } from '../helpers/recorded.js';

// Recorded outputs (TCG, 2026-12-05): test/fixtures/ksm-cross/ and ksm-rmap/ (0001-0034 and 0001-0035 under
// ,user), and each test/fixtures/guest/ recording (stock, lean, v1, 0001-0036), replayed first below and by
// invariants.test. The outputs after them are CONSTRUCTED, written before any guest ran:
// Each is what ksm-cross.sh or ksm-rmap.sh prints, line for line as the scripts (ksm-step.sh) and
// the probe's ksm-cross write it (the shape taken from running the scripts on the host against a
// simulated ksmd, with the real probe and C = P = 0), filled in with the counts docs/design/ksm.md
// (sections 1 and 4) derives from 6.12's mm/ksm.c for each kernel, with N = 16, C = 0, P = 1:
//   stock   6.12 (P ordinary): onto 16 of the unbound T on P, off 16 of the owner's t back on C,
//           rmap all 16 moved back (ksmd kept the owner's rmap items);
//   series  v1 or v2 (0001-0034) under ,user: the same for onto and off; rmap 16 stuck (0009 dropped
//           the rmap items, ksm_merging_pages 0 for them);
//   0035    v2 + 0035: onto and off 0; rmap still 16 stuck;
//   fixed   v2 + 0035 + 0036: 0, 0, 16 moved.
// The contexts (profile, roles C = 0 and P = 1) come from the recorded fixtures' kernel-state.
type Kernel = 'stock' | 'series' | '0035' | 'fixed';

const N = KSM_PAGES;
const C = 0;
const P = 1;
const UID = 1000;

const crosses = (k: Kernel) => k === 'stock' || k === 'series';
const keepsRmap = (k: Kernel) => k === 'stock' || k === 'fixed';

const set = (pages: number, node: number) => ({ pages, placement: { [String(node)]: pages } });

function rec(call: string, role: string, mode: string, merging: number, rest: Record<string, unknown> = {}): string {
  const pid = role === 'owner' ? 402 : 401;
  return JSON.stringify({ probe: 'ksm-cross', call, uid: UID, role, mode, pid, merging, ...rest });
}

const move = (mode: string, name: string, merging: number) =>
  rec('move', 'owner', mode, merging, {
    set: name,
    target: P,
    ret: 0,
    errno: null,
    pages: N,
    unset: 0,
    status: { placement: { [String(P)]: N } },
    [name]: set(N, P),
  });

const moveEach = (mode: string, k: Kernel, merging: number) =>
  rec('move-each', 'owner', mode, merging, {
    set: 'S',
    target: C,
    pages: N,
    moved: keepsRmap(k) ? N : 0,
    stuck: keepsRmap(k) ? 0 : N,
    refused: { placement: {} },
    S: set(N, keepsRmap(k) ? C : P),
  });

const stats = (scans: number, pages: number, shared: number) =>
  [
    `full_scans ${scans}`,
    `pages_scanned ${pages}`,
    `pages_shared ${shared}`,
    `pages_sharing ${shared}`,
    'pages_unshared 0',
    'stable_node_chains 0',
    'stable_node_dups 0',
  ].join('\n');

const KNOBS = '### knobs\nmerge_across_nodes 1\nmax_page_sharing 256\nuse_zero_pages 0';

/** ksm-cross.sh's output on a kernel (constructed, see above). */
function crossOutput(k: Kernel): string {
  const onP = crosses(k) ? N : 0;
  // Pass 3 scans the owner's pages on P unless 0009 skips them (0036 scans its KSM pages again).
  const pass3 = k === 'stock' || k === 'fixed' ? 6 * N : 4 * N;
  // The owner's rmap items after pass 3: T's and S's first pages (on P) kept, or dropped; K's pairs.
  const ownerAfter = (keepsRmap(k) ? 2 * N : 0) + 2 * N;
  const onto = [
    '### onto',
    `step pass scans 1 pages ${6 * N}`,
    `step pass scans 1 pages ${8 * N}`,
    stats(2, 14 * N, 3 * N),
    `step pass scans 1 pages ${pass3}`,
    stats(3, 14 * N + pass3, 3 * N),
    '# exit 0',
    rec('ready', 'unbound', 'onto', 0),
    rec('written', 'unbound', 'onto', 0, { T: set(N, C), K: set(N, C) }),
    rec('result', 'unbound', 'onto', N + onP, { T: set(N, onP ? P : C), K: set(N, C) }),
    '# exit 0',
    rec('ready', 'owner', 'onto', 0, { T: set(2 * N, C), K: set(2 * N, C), S: set(2 * N, C) }),
    rec('phase-2', 'owner', 'onto', 6 * N),
    move('onto', 'T', 6 * N),
    move('onto', 'S', 6 * N),
    moveEach('onto', k, ownerAfter),
    rec('result', 'owner', 'onto', ownerAfter, { T: set(N, P), K: set(2 * N, C) }),
  ];
  const offP = crosses(k) ? N : 0;
  const off = [
    '### off',
    `step batch scans 0 pages ${2 * N}`,
    `step batch scans 0 pages ${2 * N}`,
    'step pass scans 1 pages 0',
    `step batch scans 0 pages ${2 * N}`,
    `step batch scans 0 pages ${2 * N}`,
    'step pass scans 1 pages 0',
    stats(2, 8 * N, N + offP),
    '# exit 0',
    rec('ready', 'unbound', 'off', 0, { t: set(N, C), k: set(N, C) }),
    rec('result', 'unbound', 'off', N + offP, { t: set(N, C), k: set(N, C) }),
    '# exit 0',
    rec('ready', 'owner', 'off', 0, { t: set(N, C), k: set(N, C) }),
    rec('phase-2', 'owner', 'off', 0),
    move('off', 't', 0),
    rec('result', 'owner', 'off', N + offP, { t: set(N, offP ? C : P), k: set(N, C) }),
  ];
  return [KNOBS, ...onto, ...off, ''].join('\n');
}

/** ksm-rmap.sh's output on a kernel (constructed, see above). */
function rmapOutput(k: Kernel): string {
  const after = keepsRmap(k) ? N : 0;
  return [
    KNOBS,
    '### rmap',
    `step pass scans 1 pages ${2 * N}`,
    `step pass scans 1 pages ${2 * N}`,
    stats(2, 4 * N, N),
    `step pass scans 1 pages ${keepsRmap(k) ? N : 0}`,
    stats(3, 4 * N + (keepsRmap(k) ? N : 0), after),
    '# exit 0',
    rec('ready', 'owner', 'rmap', 0, { S: set(2 * N, C) }),
    rec('phase-2', 'owner', 'rmap', 2 * N),
    move('rmap', 'S', 2 * N),
    moveEach('rmap', k, after),
    rec('result', 'owner', 'rmap', after),
    '',
  ].join('\n');
}

/** Fixtures whose kernel-state gives each profile (their own outputs of these steps do not exist). */
const CONTEXT = {
  vanilla: 'stock-6.12-private-virtio',
  'vanilla-movable': 'stock-6.12-private-movable',
  private: 'patched-6.12-private',
  'private-user': 'patched-6.12-private-user',
} as const;

const judge = (spec: InvariantSpec, text: string, profile: keyof typeof CONTEXT = 'private-user') =>
  evaluateInvariant(spec, { [spec.id]: text }, contextOf(CONTEXT[profile]));
const cross = (text: string, profile?: keyof typeof CONTEXT) => judge(ksmCross as InvariantSpec, text, profile);
const rmap = (text: string, profile?: keyof typeof CONTEXT) => judge(ksmRmap as InvariantSpec, text, profile);

const ONTO =
  "onto: 16 of 16 pages of an unbound task were merged into KSM pages on node 1 (the owner's, moved there by move_pages(2))";
const OFF =
  "off: 16 of 16 pages the owner moved to node 1 were replaced by KSM pages on node 0 (the unbound task's copies)";
const STUCK =
  "16 of 16 KSM pages on node 1 could not be migrated to node 0: move_pages(2) returned a positive count (ksmd kept 0 of the owner's rmap items)";

const crossRecorded = seriesRecordings(ksmCross, 'private-user');
const rmapRecorded = seriesRecordings(ksmRmap, 'private-user');

test('recorded under ,user: 0001-0034 merges onto P and out of it and strands its KSM pages on P; 0035 stops the merges; 0036 (test/fixtures/guest/patched-6.12-private-user) keeps them migratable', (t) => {
  const at34 = crossRecorded.outcome(crossRecorded.recorded('series-at-34-private-user'), 'private-user');
  t.is(at34.outcome, 'fail');
  t.deepEqual(at34.problems, [
    "onto: 16 of 16 pages of an unbound task were merged into KSM pages on node 1 (the owner's, moved there by move_pages(2))",
    "off: 16 of 16 pages the owner moved to node 1 were replaced by KSM pages on node 0 (the unbound task's copies)",
  ]);
  t.is(crossRecorded.outcome(crossRecorded.recorded('series-at-35-private-user'), 'private-user').outcome, 'pass');
  for (const name of ['series-at-34-private-user', 'series-at-35-private-user']) {
    const r = rmapRecorded.outcome(rmapRecorded.recorded(name), 'private-user');
    t.is(r.outcome, 'fail', name);
    t.regex(r.summary, /^16 of 16 KSM pages on node 1 could not be migrated to node 0/, name);
  }
});

test('the constructed outputs name the nodes of the contexts they are judged in: C = 0, P = 1', (t) => {
  for (const dir of Object.values(CONTEXT)) t.like(contextOf(dir).roles, { c: C, p: P }, dir);
});

test('the stock kernel merges across an ordinary P both ways, and moves its KSM pages back (its columns)', (t) => {
  for (const profile of ['vanilla', 'vanilla-movable'] as const) {
    t.like(cross(crossOutput('stock'), profile), { outcome: 'xfail', problems: [ONTO, OFF] }, profile);
    t.like(
      rmap(rmapOutput('stock'), profile),
      {
        outcome: 'pass',
        summary: "all 16 KSM pages the owner had moved to node 1 moved back to node 0 after ksmd's pass over them",
      },
      profile,
    );
  }
});

test('v1 and v2 under ,user: merged onto P and out of it, and the KSM pages on P stuck there', (t) => {
  t.like(cross(crossOutput('series')), { outcome: 'fail', problems: [ONTO, OFF] });
  t.like(rmap(rmapOutput('series')), { outcome: 'fail', problems: [STUCK] });
});

test('0035 stops the merges across P; 0036 keeps the KSM pages on P migratable', (t) => {
  const passed =
    "nothing of an unbound task merged into node 1's KSM pages, nothing moved to node 1 merged out of it (the controls merged on node 0)";
  t.like(cross(crossOutput('0035')), { outcome: 'pass', summary: passed });
  t.like(rmap(rmapOutput('0035')), { outcome: 'fail', problems: [STUCK] });
  t.like(cross(crossOutput('fixed')), { outcome: 'pass', summary: passed });
  t.is(rmap(rmapOutput('fixed')).outcome, 'pass');
});

test('a private kernel without ,user is not judged: no user page gets onto P there', (t) => {
  t.is(cross(crossOutput('series'), 'private').outcome, 'skip');
  t.is(rmap(rmapOutput('series'), 'private').outcome, 'skip');
});

test('the decisions name each direction on its own', (t) => {
  // Constructed: onto's unbound T left on C (0035's onto) beside the series' off.
  const offOnly = crossOutput('series').replace(
    rec('result', 'unbound', 'onto', 2 * N, { T: set(N, P), K: set(N, C) }),
    rec('result', 'unbound', 'onto', N, { T: set(N, C), K: set(N, C) }),
  );
  t.like(cross(offOnly), { outcome: 'fail', problems: [OFF] });
  // A move back refused for some pages (an errno per page) is a fail that names the errno.
  const refused = rmapOutput('fixed').replace(
    '"moved":16,"stuck":0,"refused":{"placement":{}},"S":{"pages":16,"placement":{"0":16}}',
    '"moved":14,"stuck":0,"refused":{"placement":{"EBUSY":2}},"S":{"pages":16,"placement":{"0":14,"1":2}}',
  );
  t.like(rmap(refused), { outcome: 'fail', problems: ['moving them back to node 0 was refused: 2 EBUSY'] });
});

/** An error whose reason matches `why`. */
const assertError = (t: ExecutionContext) => (r: CheckResult, why: RegExp) => {
  t.is(r.outcome, 'error', r.summary);
  t.regex(r.summary, why);
};

test('ksm-cross: output that cannot answer is an error, never a verdict (constructed edits of the series output)', (t) => {
  const error = assertError(t);
  const base = crossOutput('series');
  // A pass step missing: ksmd did not run (or ksm_step printed nothing).
  error(cross(base.replace(`step pass scans 1 pages ${8 * N}\n`, '')), /onto: ksmd was not stepped one pass at a time/);
  // A batch that took in another mergeable task's pages.
  error(
    cross(base.replace(`step batch scans 0 pages ${2 * N}\n`, 'step batch scans 0 pages 40\n')),
    /off: ksmd's batches did not line up/,
  );
  // A task that exited non-zero, or could not be run.
  error(
    cross(base.replace('# exit 0', '# exit 1')),
    /onto: 2 probe task\(s\) should each have exited 0; the step says exit 1, exit 0$/,
  );
  error(cross(base.replace('# exit 0', '# exit 127')), /\(could not be run\)/);
  // A task killed after 60 s.
  error(cross(base.replace('# exit 0', '# hung 60')), /the step says hung 60, exit 0/);
  // The owner's move of T not all on P: one page busy (its status an errno), and refused outright (ENODEV).
  error(
    cross(
      base.replace(
        '"set":"T","target":1,"ret":0,"errno":null,"pages":16,"unset":0,"status":{"placement":{"1":16}},"T":{"pages":16,"placement":{"1":16}}',
        '"set":"T","target":1,"ret":0,"errno":null,"pages":16,"unset":0,"status":{"placement":{"1":15,"EBUSY":1}},"T":{"pages":16,"placement":{"0":1,"1":15}}',
      ),
    ),
    /onto: the owner's move_pages\(2\) of set T to node 1 gave 0 \(null\), status \{"1":15,"EBUSY":1\}/,
  );
  error(
    cross(
      base.replace(
        '"set":"t","target":1,"ret":0,"errno":null,"pages":16,"unset":0,"status":{"placement":{"1":16}},"t":{"pages":16,"placement":{"1":16}}',
        '"set":"t","target":1,"ret":-1,"errno":"ENODEV","pages":16,"unset":16,"status":{"placement":{}},"t":{"pages":16,"placement":{"0":16}}',
      ),
    ),
    /off: the owner's move_pages\(2\) of set t to node 1 gave -1 \(ENODEV\)/,
  );
  // The owner's pairs not all merged before the move.
  error(
    cross(base.replace(rec('phase-2', 'owner', 'onto', 6 * N), rec('phase-2', 'owner', 'onto', 90))),
    /90 of the owner's 96 pages merged/,
  );
  // The control K not merged in the pass after the move (the unbound task's merged pages are only T's on P).
  error(
    cross(
      base.replace(
        rec('result', 'unbound', 'onto', 2 * N, { T: set(N, P), K: set(N, C) }),
        rec('result', 'unbound', 'onto', N, { T: set(N, P), K: set(N, C) }),
      ),
    ),
    /the control set K did not merge/,
  );
  // The unbound task's copies not on C when written.
  error(
    cross(
      base.replace(
        rec('written', 'unbound', 'onto', 0, { T: set(N, C), K: set(N, C) }),
        rec('written', 'unbound', 'onto', 0, { T: set(N, P), K: set(N, C) }),
      ),
    ),
    /set T is not all on node 0/,
  );
  // /proc/self/ksm_merging_pages unreadable (the probe prints -1).
  error(cross(base.replace(/"merging":\d+/g, '"merging":-1')), /could not read \/proc\/self\/ksm_merging_pages/);
  // Run as root, or a probe that gave up (a fatal record), or printed nothing.
  error(cross(base.replaceAll(`"uid":${UID}`, '"uid":0')), /ran as root/);
  error(
    cross(
      base.replace(
        rec('ready', 'unbound', 'onto', 0),
        '{"probe":"ksm-cross","call":"madvise","ret":-1,"errno":"EINVAL","fatal":true}',
      ),
    ),
    /the probe failed: madvise gave EINVAL/,
  );
  error(cross(base.replace(/^\{.*\}$/gm, '{"ok":true,"pages":{}}')), /record/);
  error(cross(base.replace(/^\{.*\}$/gm, '').replace(/^# exit \d+$/gm, '# exit 1')), /exited 0/);
  // A setup that failed, and a section missing.
  error(
    cross(`${base}### setup-failed\nksmd's pass (0 pages) did not end within 60 s: 0 pages scanned, no full scan\n`),
    /could not set up: ksmd's pass/,
  );
  error(cross(base.slice(0, base.indexOf('### off'))), /printed no "off" section/);
  // No KSM at all: a skip.
  t.like(cross('### none\n'), { outcome: 'skip', summary: 'the kernel has no KSM (CONFIG_KSM)' });
});

test('ksm-rmap: a move back that never returned is a fail; output that cannot answer is an error', (t) => {
  const error = assertError(t);
  const base = rmapOutput('series');
  // Killed 60 s after it was continued, before its move-each record: the moves back did not return.
  const hung = base
    .replace('# exit 0', '# hung 60')
    .replace(/^.*"move-each".*\n/m, '')
    .replace(/^.*"result".*\n/m, '');
  t.like(rmap(hung), {
    outcome: 'fail',
    problems: ['moving the KSM pages back from node 1 to node 0 one by one did not finish in 60 s (hung)'],
  });
  // Killed after its move-each record: the probe's trouble, not the kernel's answer.
  error(rmap(base.replace('# exit 0', '# hung 60')), /the task hung 60 s after it moved its pages back/);
  error(
    rmap(base.replace('# exit 0', '# exit 3')),
    /1 probe task\(s\) should each have exited 0; the step says exit 3/,
  );
  // Statuses that say moved while the pages are still on P, and counts that do not add up.
  error(
    rmap(
      rmapOutput('fixed').replace('"S":{"pages":16,"placement":{"0":16}}}', '"S":{"pages":16,"placement":{"1":16}}}'),
    ),
    /16 pages moved back by their status, 0 on node 0 by their placement/,
  );
  error(rmap(base.replace('"moved":0,"stuck":16', '"moved":0,"stuck":15')), /account for 15 of 16 pages/);
  // The pairs never merged, the move to P refused.
  error(
    rmap(base.replace(rec('phase-2', 'owner', 'rmap', 2 * N), rec('phase-2', 'owner', 'rmap', 0))),
    /0 of the owner's 32 pages merged/,
  );
  error(
    rmap(base.replace('"ret":0,"errno":null,"pages":16,"unset":0', '"ret":-1,"errno":"ENODEV","pages":16,"unset":0')),
    /gave -1 \(ENODEV\)/,
  );
  error(rmap(base.replace(/^step pass.*\n/m, '')), /ksmd was not stepped one pass at a time/);
  t.is(rmap('### none\n').outcome, 'skip');
});

test('the step lines and task endings as ksm-step.sh prints them', (t) => {
  t.deepEqual(ksmSteps('step pass scans 1 pages 96\nfull_scans 2\nstep batch scans 0 pages 32\nstep pass scans x\n'), [
    { kind: 'pass', scans: 1, pages: 96 },
    { kind: 'batch', scans: 0, pages: 32 },
  ]);
  t.deepEqual(taskEndings('# exit 0\n{"probe":"x"}\n# hung 60\n# unkillable 60\n# exit status\n'), [
    'exit 0',
    'hung 60',
    'unkillable 60',
  ]);
});
