import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { dir } from 'tmp-promise';
import { projectPath } from '../../src/adapters/project.js';
import type { KernelProfile } from '../../src/invariants/profile.js';
import type { Verdict } from '../../src/model/verdict.js';
import type { MatrixReport } from '../../src/report/matrix-report.js';
import { column as columnOf } from '../helpers/columns.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { numacage, onlyRunDir } from '../helpers/cli.js';

// The series in patches/private-node, built on the lean config (cached by content: a warm machine
// builds nothing; a cold one builds it, about 9 min, since its first patch touches nodemask.h).
const SERIES = projectPath('patches', 'private-node');
const config = (name: string) => join(SERIES, `${name}.json`);

const column = (profile: KernelProfile) => columnOf(profile, builtinTopology('private-virtio')!);

const outcomes = (report: { checks: { id: string; outcome: string }[] }) =>
  Object.fromEntries(report.checks.map((c) => [c.id, c.outcome]));
const report = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'));

test.serial(
  'private_node=1: the lean kernel without the series and with it side by side; the private column exactly, and the flips',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage([
      'run',
      '--kernel',
      'built,built:private-node',
      '--expect',
      'vanilla,private',
      '--append',
      'private_node=1',
      '--out',
      out.path,
    ]);
    const matrixDir = onlyRunDir(out.path);
    const matrix = JSON.parse(readFileSync(join(matrixDir, 'matrix.json'), 'utf8'));
    const [lean, series] = matrix.runs.map((x: { verdict: unknown }) => x.verdict);
    // The lean kernel's built-in virtio_net allocates its rings under the boot-time interleave
    // policy, so now and then all of them land on P: an xpass by luck (docs/invariants.md).
    const luckyRings = outcomes(lean)['virtio-rings'] === 'xpass';
    t.is(r.exitCode, luckyRings ? 1 : 0, r.all);
    t.deepEqual(outcomes(lean), { ...column('vanilla'), ...(luckyRings ? { 'virtio-rings': 'xpass' } : {}) });
    t.is(lean.profile.profile, 'vanilla');
    t.deepEqual(lean.expectedProfile, { profile: 'vanilla', why: 'declared (--expect)' });
    t.is(series.profile.profile, 'private');
    t.is(series.expectedProfile.profile, 'private');
    t.deepEqual(outcomes(series), column('private'));
    t.deepEqual(series.crashes, []);
    const flips = Object.keys(column('private')).filter(
      (id) => outcomes(lean)[id] === 'xfail' && outcomes(series)[id] === 'pass',
    );
    t.true(flips.length >= (luckyRings ? 17 : 18), `flipped: ${flips.join(', ')}`);
    for (const id of [
      'abi',
      'boot-data',
      'no-kernel-memory',
      'device-local',
      'no-fallback-in',
      'p-in-use',
      'soft-policy',
      'bind-optin',
      'move-optin',
      'migrate-optin',
      'hugetlb',
      'demotion',
      'compaction',
      'damon-migrate',
      'home-node',
      'online-kernel',
      'cpuset-private',
      ...(luckyRings ? [] : ['virtio-rings']),
    ])
      t.true(flips.includes(id), id);
    const cmp = await numacage(['compare', matrixDir, '--by', 'kernel']);
    t.is(cmp.exitCode, 0, cmp.all);
    t.regex(cmp.stdout, luckyRings ? /virtio-rings\s+xpass\s+pass/ : /virtio-rings\s+xfail\s+pass\s+changed/);
    t.log(`flipped (${flips.length}): ${flips.join(', ')}; suite ${series.timings.probe} s`);
    await out.cleanup();
  },
);

test.serial(
  'private_node=1,user: the private-user column exactly, thp, ksm and numa-balancing judged on pages on P',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage(['run', '--config', config('private-node-user'), '--out', out.path]);
    t.is(r.exitCode, 0, r.all);
    const rep = report(onlyRunDir(out.path));
    t.is(rep.profile.profile, 'private-user');
    t.deepEqual(outcomes(rep), column('private-user'));
    t.deepEqual(rep.crashes, []);
    await out.cleanup();
  },
);

test.serial(
  'private_node= on a node with CPUs is refused on the console; numacage reports vanilla with the refusal as evidence',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const r = await numacage(['run', '--config', config('private-node-cpu'), '--suite', 'smoke', '--out', out.path]);
    t.is(r.exitCode, 0, r.all);
    const rep = report(onlyRunDir(out.path));
    t.is(rep.profile.profile, 'vanilla');
    const abi = rep.checks.find((c: { id: string }) => c.id === 'abi');
    t.is(abi.outcome, 'xfail');
    t.regex(abi.evidence.refusals['1'], /private_node: node 1 has CPUs, not made private/);
    await out.cleanup();
  },
);

test.serial(
  'asked for private and the kernel shows an ordinary node: the run fails and says why, for a kernel without the series and for the series without private_node=',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const sentence = 'asked for private, the kernel shows node 1 as ordinary memory: the series did not take effect';
    // Nothing declared: private_node=1 on the command line asks for private, whatever the kernel says of itself.
    const lean = await numacage([
      'run',
      '--kernel',
      'built',
      '--append',
      'private_node=1',
      '--suite',
      'smoke',
      '--out',
      join(out.path, 'lean'),
    ]);
    const series = await numacage([
      'run',
      '--kernel',
      'built:private-node',
      '--expect',
      'private',
      '--suite',
      'smoke',
      '--out',
      join(out.path, 'series'),
    ]);
    for (const [r, dirName, why] of [
      [lean, 'lean', 'inferred: the command line has private_node=1'],
      [series, 'series', 'declared (--expect)'],
    ] as const) {
      t.is(r.exitCode, 1, r.all);
      t.is(r.stdout.split('\n')[0], `FAILED: ${sentence}`);
      const rep = report(onlyRunDir(join(out.path, dirName)));
      t.deepEqual(
        [rep.profile.profile, rep.expectedProfile.profile, rep.expectedProfile.why],
        ['vanilla', 'private', why],
      );
      const abi = rep.checks.find((c: { id: string }) => c.id === 'abi');
      t.deepEqual([abi.outcome, abi.summary], ['fail', sentence]);
    }
    await out.cleanup();
  },
);

/**
 * Series v1 (its first thirteen patches) and v2 side by side on two of the series' topologies, the given
 * checks only; the run must fail (v1 does). Each cell's verdict, by cell name (topology/kernel).
 */
async function v1AgainstV2(t: ExecutionContext, topologies: string[], only: string): Promise<Record<string, Verdict>> {
  const out = await dir({ unsafeCleanup: true });
  const r = await numacage([
    'run',
    '--kernel',
    'built:private-node@13,built:private-node',
    '--topology',
    topologies.map((n) => join(SERIES, `${n}.topology.json`)).join(','),
    '--only',
    only,
    '--out',
    out.path,
  ]);
  t.is(r.exitCode, 1, r.all);
  const matrix = JSON.parse(readFileSync(join(onlyRunDir(out.path), 'matrix.json'), 'utf8')) as MatrixReport;
  await out.cleanup();
  return Object.fromEntries(matrix.runs.map((x) => [x.cell, x.verdict]));
}

test.serial(
  "reclaim-user, the swap readahead rows and zpool-user, series v1 against v2 with swap on a scratch disk and zram: v1 lets another task's bind swap out the owner's pages on P, a bound task's swap-ins read another task's pages onto P, an unbound task's readahead brings a bound task's pages back on C, and a bound reclaimer compresses another cgroup's pages into pool pages on P; v2 OOM-kills that task, reads nothing ahead, copies the read-ahead pages onto P and keeps the pool on C",
  async (t) => {
    const cells = await v1AgainstV2(
      t,
      ['reclaim-user'],
      'reclaim-user,swap-readahead,swap-readahead-reverse,zpool-user',
    );
    const check = (kernel: string, id: string) =>
      cells[`reclaim-user/built:${kernel}`]!.checks.find((c) => c.id === id)!;
    const v1 = check('private-node@13', 'reclaim-user');
    const v2 = check('private-node', 'reclaim-user');
    t.is(v1.outcome, 'fail', v1.summary);
    t.regex(v1.summary, /^4096 of the 4096 bound pages \(A\) left node 1 under another task's pressure/);
    t.is(v2.outcome, 'pass', v2.summary);
    t.regex(v2.summary, /^the task bound to node 1 was OOM-killed after \d+ MiB; every bound, moved and cached page/);
    const v1Ra = check('private-node@13', 'swap-readahead');
    t.is(v1Ra.outcome, 'fail', v1Ra.summary);
    t.regex(
      v1Ra.summary,
      /^\d+ of B's 64 pages are on node 1, which B never asked for: A, bound to node 1, read \d+ of them ahead/,
    );
    const v2Ra = check('private-node', 'swap-readahead');
    t.is(v2Ra.outcome, 'pass', v2Ra.summary);
    t.regex(
      v2Ra.summary,
      /^B's 64 pages came back on node 0 after A, bound to node 1, .*\(0 of B's read ahead with A's; \d+ in the unbound control\)$/,
    );
    const v1Reverse = check('private-node@13', 'swap-readahead-reverse');
    t.is(v1Reverse.outcome, 'fail', v1Reverse.summary);
    t.regex(
      v1Reverse.summary,
      /^arm 2 \(anonymous pages, bound before they were faulted\): \d+ of B's \d+ read-ahead pages are mapped off node 1 .*; arm 3 \(a memfd, bound after its page-out\): \d+ of B's \d+ read-ahead pages are mapped off node 1 /,
    );
    const v2Reverse = check('private-node', 'swap-readahead-reverse');
    t.is(v2Reverse.outcome, 'pass', v2Reverse.summary);
    t.regex(
      v2Reverse.summary,
      /^all of B's pages came back on node 1, read ahead by the unbound A \(\d+ anonymous, \d+ shmem, every fault on them minor\)/,
    );
    // The host's count of each step's pages in the swap disk bears out the guest's: v2 swaps only the owner's
    // own 1024 (E), v1 the bound and moved pages too; each swap readahead row's two arms page out 96 + 64 pages.
    const inSwap = (c: typeof v1) =>
      (c.evidence.hostWitness as { steps: { hostPagesInSwap: number; guestPagesSwapped: number }[] }).steps[0]!;
    t.like(inSwap(v2), { hostPagesInSwap: 1024, guestPagesSwapped: 1024 });
    t.true(inSwap(v1).hostPagesInSwap > 1024, JSON.stringify(inSwap(v1)));
    for (const c of [v1Ra, v2Ra, v1Reverse, v2Reverse])
      t.like(inSwap(c), { hostPagesInSwap: 320, guestPagesSwapped: 320 });
    // The pool: v1's nr_zspages grows on P and the host finds the victim's pages compressed in P's memfd; v2's on C alone.
    const v1Pool = check('private-node@13', 'zpool-user');
    t.is(v1Pool.outcome, 'fail', v1Pool.summary);
    t.regex(
      v1Pool.summary,
      /^the pool grew by \d+ page\(s\) on node 1 while a task bound to node 1 reclaimed \d+ kB of another cgroup's pages \(0 on node 0\); the host finds [1-9]\d* of the victim's pages compressed in node 1's memfd$/,
    );
    const v2Pool = check('private-node', 'zpool-user');
    t.is(v2Pool.outcome, 'pass', v2Pool.summary);
    t.regex(
      v2Pool.summary,
      /and none on node 1 .*; the host finds 0 of the victim's pages compressed in node 1's memfd$/,
    );
  },
);

test.serial(
  "cma-rings and cma-user, series v1 against v2: with P's own CMA area, v1 puts the NIC's rings in it, so the area can never be claimed whole, and lets a long-term pin and a claim of the area move a tenant's pages to C; v2 keeps the rings outside and every page on P",
  async (t) => {
    const cells = await v1AgainstV2(t, ['cma-user'], 'cma-rings,cma-user');
    const check = (kernel: string, id: string) => cells[`cma-user/built:${kernel}`]!.checks.find((c) => c.id === id)!;
    const v1Rings = check('private-node@13', 'cma-rings');
    t.is(v1Rings.outcome, 'fail', v1Rings.summary);
    t.regex(
      v1Rings.summary,
      /^\d+ of the \d+ rings of the devices on node 1 lie in its CMA area \(0x100000000-0x140000000\): .*; with nothing bound to node 1, a claim of its whole CMA area \(262144 pages\) got 0 /,
    );
    const v2Rings = check('private-node', 'cma-rings');
    t.is(v2Rings.outcome, 'pass', v2Rings.summary);
    t.regex(
      v2Rings.summary,
      /^the \d+ rings of the devices on node 1 lie outside its CMA area .* and the whole area \(262144 pages\) was claimed and given back$/,
    );
    const v1 = check('private-node@13', 'cma-user');
    t.is(v1.outcome, 'fail', v1.summary);
    t.regex(
      v1.summary,
      /^the long-term pin moved 64 of 64 pages from node 1's CMA area off node 1; claiming 8192 pages of node 1's area \(\d+ of them the tenant's; 8192 handed out\) moved \d+ of the tenant's \d+ pages off node 1$/,
    );
    const v2 = check('private-node', 'cma-user');
    t.is(v2.outcome, 'pass', v2.summary);
    t.regex(
      v2.summary,
      /^64 pages in the area pinned on node 1; 8192 pages of the area claimed .*: every page still on node 1$/,
    );
    // A claim that fails on a full P prints the migration target's allocation failure: the probe's doing, set apart.
    const v2Crashes = cells['cma-user/built:private-node']!.crashes;
    t.deepEqual(v2Crashes, [], JSON.stringify(v2Crashes));
  },
);

test.serial(
  'boot-reserve, series v1 against v2: v1 reserves the CMA areas and the crash kernel on P, v2 where C has room',
  async (t) => {
    const cells = await v1AgainstV2(t, ['reserve'], 'boot-reserve');
    const v1 = cells['reserve/built:private-node@13']!.checks[0]!;
    const v2 = cells['reserve/built:private-node']!.checks[0]!;
    t.is(v1.outcome, 'fail', v1.summary);
    t.regex(v1.summary, /^reserved \(64 MiB at 0x1[0-9a-f]{8}\) lies on node 1$/);
    t.is(v2.outcome, 'pass', v2.summary);
    t.regex(
      v2.summary,
      /^reserved \(64 MiB at 0x[0-7][0-9a-f]{7}\), crash kernel \(64 MiB at 0x[0-7][0-9a-f]{7}\), pernuma0 .* off node 1$/,
    );
  },
);

test.serial(
  'series v1 (0001-0013) against v2 (0001-0050), private_node=1 and ,user: each finding of the review fails on v1 and passes on v2',
  async (t) => {
    const cells = await v1AgainstV2(
      t,
      ['private', 'private-user'],
      'boot-data,hugetlb-boot,home-node,thp,longterm-pin,ksm-cross,ksm-rmap,damon-migrate,hugetlb-user,hugetlb-surplus-spared,bind-spill,p-in-use,online-kernel,cpu-hotplug,cpuset-private',
    );
    const cell = (name: string) => cells[name]!;
    const v1 = cell('private/built:private-node@13');
    const v1User = cell('private-user/built:private-node@13');
    const v2 = cell('private/built:private-node');
    const v2User = cell('private-user/built:private-node');
    // v1 crashes in cpuset-private (a policy rebound to no node) and the run stops there, named.
    for (const v of [v1, v1User]) {
      t.is(outcomes(v)['cpuset-private'], 'not-run');
      t.true(
        v.crashes.some((c: { title: string; fatal: boolean }) => /^unable to handle page fault/.test(c.title)),
        JSON.stringify(v.crashes.map((c: { title: string }) => c.title)),
      );
    }
    // p-in-use, the catch-all: v1's four boot-time huge pages on P are pages in use that no ring explains.
    t.like(outcomes(v1), {
      'boot-data': 'fail',
      'hugetlb-boot': 'fail',
      'damon-migrate': 'fail',
      'p-in-use': 'fail',
      'online-kernel': 'fail',
      'cpu-hotplug': 'fail',
    });
    t.like(outcomes(v1User), {
      'boot-data': 'fail',
      'hugetlb-boot': 'skip',
      'home-node': 'fail',
      thp: 'fail',
      'longterm-pin': 'fail',
      'ksm-cross': 'fail',
      'ksm-rmap': 'fail',
      'hugetlb-user': 'fail',
      'hugetlb-surplus-spared': 'fail',
      'bind-spill': 'fail',
      'online-kernel': 'fail',
      'cpu-hotplug': 'fail',
    });
    t.deepEqual(outcomes(v2), {
      'boot-data': 'pass',
      'hugetlb-boot': 'pass',
      'home-node': 'pass',
      thp: 'skip',
      'longterm-pin': 'skip',
      'ksm-cross': 'skip',
      'ksm-rmap': 'skip',
      'damon-migrate': 'pass',
      'hugetlb-user': 'skip',
      'hugetlb-surplus-spared': 'skip',
      'bind-spill': 'skip',
      'p-in-use': 'pass',
      'online-kernel': 'pass',
      'cpu-hotplug': 'pass',
      'cpuset-private': 'pass',
    });
    t.deepEqual(outcomes(v2User), {
      'boot-data': 'pass',
      'hugetlb-boot': 'skip',
      'home-node': 'pass',
      thp: 'pass',
      'longterm-pin': 'pass',
      'ksm-cross': 'pass',
      'ksm-rmap': 'pass',
      'damon-migrate': 'skip',
      'hugetlb-user': 'pass',
      'hugetlb-surplus-spared': 'pass',
      'bind-spill': 'pass',
      'p-in-use': 'skip',
      'online-kernel': 'pass',
      'cpu-hotplug': 'pass',
      'cpuset-private': 'pass',
    });
    for (const v of [v2, v2User]) t.deepEqual(v.crashes, []);
  },
);

test.serial(
  'hugetlb-surplus (also with the pool reserved), cpuset-migrate, memory-spread and cpuset-shrink, series v1 against v2 with a second ordinary node C2: v1 takes surplus huge pages from P, moves pages onto P, spreads page cache onto P and OOM-kills a task its parent left {P}; v2 keeps all four off P',
  async (t) => {
    const cells = await v1AgainstV2(
      t,
      ['migrate', 'migrate-user'],
      'hugetlb-surplus,hugetlb-surplus-reserved,cpuset-migrate,memory-spread,cpuset-shrink',
    );
    const check = (cell: string, id: string) => cells[cell]!.checks.find((c) => c.id === id);
    for (const topology of ['migrate', 'migrate-user']) {
      const v1 = `${topology}/built:private-node@13`;
      const v2 = `${topology}/built:private-node`;
      t.like(check(v1, 'hugetlb-surplus'), {
        outcome: 'fail',
        summary: 'unbound in a cpuset {1,2}: the reservation took 2 surplus huge page(s) from node 1',
      });
      t.like(check(v2, 'hugetlb-surplus'), {
        outcome: 'pass',
        summary:
          'unbound in a cpuset {1,2}: 2 surplus huge pages reserved on node 2 and 2 faulted there, none from node 1',
      });
      t.like(check(v1, 'hugetlb-surplus-reserved'), {
        outcome: 'fail',
        problems: [
          'unbound in a cpuset {1,2}: the reservation took 2 surplus huge page(s) from node 1',
          'node 1 kept 2 huge page(s) after the task ended',
        ],
      });
      t.like(check(v2, 'hugetlb-surplus-reserved'), {
        outcome: 'pass',
        summary:
          "unbound in a cpuset {1,2}, node 2's 2 pool pages reserved by a hugetlbfs mount: 2 surplus huge pages reserved on node 2 and 2 faulted there, none from node 1",
      });
      t.like(check(v1, 'cpuset-migrate'), {
        outcome: 'fail',
        summary: 'the cpuset moved 128 of 128 pages onto node 1 as its mems went {0,2} → {0,1}',
      });
      t.like(check(v1, 'cpuset-shrink'), {
        outcome: 'fail',
        summary:
          "after the parent's mems {0,1,2} → {0,1} (the child's effective mems: 1), its task was killed (SIGKILL)",
      });
      t.like(check(v2, 'cpuset-migrate'), {
        outcome: 'pass',
        summary: 'mems {0,2} → {0,1}: no page on node 1 (the first half then on node 0, the second on node 0)',
      });
      // memory-spread runs between them: cpuset goes to a v1 hierarchy and back, and cpuset-shrink needs it on v2.
      t.is(check(v1, 'memory-spread')?.outcome, 'fail');
      t.regex(check(v1, 'memory-spread')!.summary, /^\d+ of 4096 page cache pages spread onto node 1$/);
      t.is(check(v2, 'memory-spread')?.outcome, 'pass');
      t.regex(
        check(v2, 'memory-spread')!.summary,
        /^4096 page cache pages spread over nodes 0 \(\d+\) and 2 \(\d+\), none on node 1$/,
      );
      t.like(check(v2, 'cpuset-shrink'), {
        outcome: 'pass',
        summary:
          "after the parent's mems {0,1,2} → {0,1}, the child's effective mems are 0-1 and its task's pages stay off node 1",
      });
    }
  },
);

test.serial(
  'hugetlb-boot, series v1 against v2: asked per node (hugepages=0:4,1:4), v1 puts P its 4, v2 refuses them with a warning and keeps C its 4; of 1 GiB pages (hugepagesz=1G), v1 hands P one round-robin and one by fallback where C has no room, v2 puts both on C and gives the fallback page back',
  async (t) => {
    const cells = await v1AgainstV2(t, ['hugepages-node', 'hugepages-1g', 'hugepages-1g-node'], 'hugetlb-boot');
    const check = (cell: string) => cells[cell]!.checks.find((c) => c.id === 'hugetlb-boot')!;
    t.like(check('hugepages-node/built:private-node@13'), {
      outcome: 'fail',
      summary: 'hugepages=0:4,1:4 at boot put 4 of its huge pages on node 1',
    });
    const v2 = check('hugepages-node/built:private-node');
    t.like(v2, { outcome: 'pass', summary: 'hugepages=0:4,1:4: the 4 asked for on node 1 refused, all 4 off node 1' });
    const kernelSaid = (c: { evidence: Record<string, unknown> }, line: RegExp) =>
      t.true(
        (c.evidence.kernel as string[]).some((l) => line.test(l)),
        JSON.stringify(c.evidence),
      );
    kernelSaid(v2, /node1 is private, no huge page allocated on it at boot/);
    t.like(check('hugepages-1g/built:private-node@13'), {
      outcome: 'fail',
      summary: 'hugepages=2 at boot put 1 of its 1 GiB pages on node 1',
    });
    t.like(check('hugepages-1g/built:private-node'), { outcome: 'pass', summary: 'hugepages=2: all 2 off node 1' });
    t.like(check('hugepages-1g-node/built:private-node@13'), {
      outcome: 'fail',
      summary: 'hugepages=0:1,1:1 at boot put 1 of its 1 GiB pages on node 1',
    });
    const fallback = check('hugepages-1g-node/built:private-node');
    t.like(fallback, {
      outcome: 'pass',
      summary:
        'hugepages=0:1,1:1: the 1 asked for on node 1 refused, all 0 off node 1 (the other nodes have room for 0 of the 1)',
    });
    kernelSaid(fallback, /no room for a 1\.00 GiB page outside private nodes, not allocated on node1/);
  },
);
