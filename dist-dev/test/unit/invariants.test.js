import test from 'ava';
import { EXPECTATIONS } from '../../src/invariants/expectations.js';
import { checkInvariant } from '../../src/invariants/invariant.js';
import { ISOLATION_INVARIANTS } from '../../src/invariants/isolation.js';
import { assembleObservations } from '../../src/invariants/observations.js';
import { detectProfile, nodeRoles } from '../../src/invariants/profile.js';
import { selectInvariants } from '../../src/invariants/suites.js';
import { parseZoneinfo } from '../../src/probes/isolation-parsers.js';
import { builtinTopology } from '../../src/topology/builtin.js';
import { fixture } from '../helpers/fixtures.js';
const NAMES = [
    'node-states', 'zoneinfo', 'cmdline', 'p-meminfo-after-boot', 'p-meminfo-after-workload', 'soft-policy', 'bind', 'move-pages',
    'migrate-pages', 'hugetlb', 'memory-tiers', 'p-numastat-before', 'fill', 'p-numastat-after', 'cpuset', 'thp', 'compaction',
    'bind-strict', 'p-meminfo-after-traffic', 'ksm', 'numa-balancing',
];
/** Observations recorded from a real guest (test/fixtures/guest/<dir>), through the same assembly as a live run. */
function recorded(dir) {
    const raw = Object.fromEntries(NAMES.map((n) => [n, fixture('guest', dir, `${n}.txt`)]));
    const killed = /# exit: signal/.test(raw.fill);
    const done = /"call":"done","mib":(\d+)/.exec(raw.fill);
    const steps = [...raw.fill.matchAll(/"mib":(\d+)/g)];
    const strictKilled = /# exit: signal/.test(raw['bind-strict']);
    return assembleObservations(raw, {
        fill: { exitCode: killed ? null : 0, askedMiB: Number(done?.[1] ?? steps.at(-1)?.[1]) },
        bindStrict: { exitCode: strictKilled ? null : 0, askedMiB: 1280 },
    });
}
const roles = nodeRoles(builtinTopology('private-virtio'));
const pagesOnP = (placement) => placement?.['1'] ?? 0;
function outcomes(obs, profile) {
    const topology = builtinTopology('private-virtio');
    return Object.fromEntries(ISOLATION_INVARIANTS.map((inv) => [inv.id, checkInvariant(inv, obs, { roles, profile }, topology).outcome]));
}
test('roles: C has the CPUs, P is the CPU-less MAP_SHARED node, C2 the other CPU-less one', (t) => {
    t.deepEqual(roles, { c: 0, p: 1, cpuOfC: 0 });
    t.deepEqual(nodeRoles(builtinTopology('three-node')), { c: 0, p: 1, cpuOfC: 0, c2: 2 });
});
test('the stock kernel on private-virtio is detected as vanilla and every invariant matches the vanilla column', (t) => {
    const obs = recorded('stock-6.12-private-virtio');
    const profile = detectProfile({ nodeStates: obs.nodeStates, zones: obs.zones, cmdline: obs.cmdline, p: 1 });
    t.is(profile.profile, 'vanilla');
    const got = outcomes(obs, 'vanilla');
    for (const [id, outcome] of Object.entries(got))
        t.is(outcome, EXPECTATIONS[id].vanilla === 'fail' ? 'xfail' : 'pass', id);
});
test('the stock kernel on private-movable is vanilla-movable: no kernel memory on P, the rest as vanilla', (t) => {
    const obs = recorded('stock-6.12-private-movable');
    const profile = detectProfile({ nodeStates: obs.nodeStates, zones: obs.zones, cmdline: obs.cmdline, p: 1 });
    t.is(profile.profile, 'vanilla-movable');
    const got = outcomes(obs, 'vanilla-movable');
    t.is(got['no-kernel-memory'], 'pass');
    for (const [id, outcome] of Object.entries(got))
        t.is(outcome, EXPECTATIONS[id]['vanilla-movable'] === 'fail' ? 'xfail' : 'pass', id);
});
test('evidence carries the numbers that decided', (t) => {
    const obs = recorded('stock-6.12-private-virtio');
    const byId = Object.fromEntries(ISOLATION_INVARIANTS.map((inv) => [inv.id, checkInvariant(inv, obs, { roles, profile: 'vanilla' })]));
    t.true(byId['no-kernel-memory'].evidence.afterBootKiB.Slab > 1000);
    t.true(byId['no-fallback-in'].evidence.pagesOnP > 0);
    t.true(byId['no-fallback-in'].evidence.pNumaMissDelta > 0);
    t.regex(byId['soft-policy'].problems.join('\n'), /MPOL_INTERLEAVE \{0,1\}: 32 of 64 pages on node 1/);
    t.regex(byId['bind-optin'].summary, /succeeded without opt-in/);
});
/** What a private-node kernel would answer, built from the vanilla recording. */
function privateLike(obs) {
    const clone = structuredClone(obs);
    clone.nodeStates.has_private_memory = [1];
    clone.pMeminfoAfterBoot = { ...clone.pMeminfoAfterBoot, Slab: 0, SUnreclaim: 0, KernelStack: 0, PageTables: 0 };
    clone.pMeminfoAfterWorkload = { ...clone.pMeminfoAfterBoot };
    for (const r of clone.softPolicy)
        r.placement = { '0': 64 };
    clone.softPolicy[2] = { ...clone.softPolicy[2], ret: -1, errno: 'EINVAL' };
    clone.bind = clone.bind.map((r) => ({ ...r, ret: -1, errno: 'EINVAL', placement: r.case === 'fresh' ? { '0': 64 } : { '0': 64 } }));
    clone.movePages = { ...clone.movePages, ret: 0, status: Array(16).fill(-19), placement: { '0': 16 } };
    clone.migratePages = { ...clone.migratePages, ret: 16, placement: { '0': 16 } };
    clone.hugetlb = { asked: 4, got: 0 };
    clone.tiers = { demotionEnabled: false, tiers: [{ name: 'memory_tier4', nodes: [0] }] };
    clone.pMeminfoAfterTraffic = { ...clone.pMeminfoAfterBoot };
    clone.thp = { ...clone.thp, ret: -1, errno: 'EINVAL', anon_huge_kb: 0 };
    clone.compaction = { kcompactd: false, kswapd: false, compactAccepted: false };
    clone.ksm = { ...clone.ksm, p_pfns: [1310221, 1310222] };
    clone.numaBalancing = { ...clone.numaBalancing, placement: { '1': 64 } };
    clone.fill = { ...clone.fill, exitCode: null, pNumaMissDelta: 0, records: clone.fill.records.map((r) => ({ ...r, placement: r.placement ? { '0': 16384 } : undefined })) };
    return clone;
}
test('a kernel that keeps P private passes every invariant, and the same answers on vanilla would be xpass', (t) => {
    const obs = privateLike(recorded('stock-6.12-private-virtio'));
    const profile = detectProfile({ nodeStates: obs.nodeStates, zones: obs.zones, cmdline: obs.cmdline, p: 1 });
    t.is(profile.profile, 'private');
    for (const [id, outcome] of Object.entries(outcomes(obs, 'private')))
        t.is(outcome, EXPECTATIONS[id].private === 'n/a' ? 'skip' : 'pass', id);
    const onVanilla = outcomes(obs, 'vanilla');
    t.is(onVanilla['soft-policy'], 'xpass', 'a vanilla kernel that behaves privately is reported loudly');
});
test('private-user: bind and migration to P are allowed; hugetlb is n/a', (t) => {
    const vanilla = recorded('stock-6.12-private-virtio');
    const obs = privateLike(vanilla);
    obs.nodeStates.has_user_memory = [1];
    obs.bind = vanilla.bind;
    obs.movePages = vanilla.movePages;
    obs.migratePages = vanilla.migratePages;
    const profile = detectProfile({ nodeStates: obs.nodeStates, zones: obs.zones, cmdline: obs.cmdline, p: 1 });
    t.is(profile.profile, 'private-user');
    const got = outcomes(obs, 'private-user');
    t.is(got['bind-optin'], 'pass');
    t.is(got['move-optin'], 'pass');
    t.is(got['migrate-optin'], 'pass');
    t.is(got.hugetlb, 'skip');
});
test('a private kernel: bind-strict is n/a; a topology without a NIC on P skips device-local', (t) => {
    const obs = privateLike(recorded('stock-6.12-private-virtio'));
    t.is(outcomes(obs, 'private')['bind-strict'], 'skip');
    const noNic = { ...builtinTopology('private-virtio'), devices: [] };
    const inv = ISOLATION_INVARIANTS.find((i) => i.id === 'device-local');
    const r = checkInvariant(inv, obs, { roles, profile: 'vanilla' }, noNic);
    t.is(r.outcome, 'skip');
    t.regex(r.summary, /places no virtio-net on node 1/);
});
test('the new probes from real recordings: cpuset refuses, a strict bind is OOM-killed on P, THP collapses on P', (t) => {
    const obs = recorded('stock-6.12-private-virtio');
    t.is(obs.cpuset.bind.errno, 'EINVAL');
    t.is(obs.cpuset.movePages.errno, 'EACCES');
    t.is(obs.thp.anon_huge_kb, 4096);
    t.deepEqual(obs.compaction, { kcompactd: true, kswapd: true, compactAccepted: true });
    const strict = obs.bindStrict.records.filter((r) => r.call === 'fault');
    t.true(strict.every((r) => Object.keys(r.placement).join() === '1'));
    const [p0, p1] = obs.ksm.p_pfns;
    t.true(p0 !== 0 && p0 === p1, 'KSM merged the pair on node 1');
    t.deepEqual(obs.numaBalancing.before.placement, { '1': 64 });
    t.is(pagesOnP(obs.numaBalancing.placement), 0);
});
test('KSM that never merged the control pair gives no answer (error), not a pass', (t) => {
    const obs = recorded('stock-6.12-private-virtio');
    obs.ksm = { ...obs.ksm, c_pfns: [100, 200], p_pfns: [300, 400] };
    t.is(checkInvariant(ISOLATION_INVARIANTS.find((i) => i.id === 'ksm'), obs, { roles, profile: 'vanilla' }).outcome, 'error');
});
test('profile detection: every spelling of the private ABI, and the opt-in by command line', (t) => {
    const zones = parseZoneinfo(fixture('guest', 'stock-6.12-private-virtio', 'zoneinfo.txt'));
    const detect = (nodeStates, cmdline = '') => detectProfile({ nodeStates: { has_normal_memory: [0, 1], ...nodeStates }, zones, cmdline, p: 1 });
    t.is(detect({}).profile, 'vanilla');
    t.is(detect({ has_private_memory: [1] }).profile, 'private');
    t.is(detect({ has_common_memory: [0] }).profile, 'private');
    t.is(detect({ has_common_memory: [0, 1] }).profile, 'vanilla');
    t.is(detect({ has_memory_private: [1] }).profile, 'private');
    t.is(detect({ has_private_memory: [1], has_user_memory: [1] }).profile, 'private-user');
    t.is(detect({ has_private_memory: [1] }, 'console=ttyS0 private_node=1,user').profile, 'private-user');
    t.is(detect({ has_private_memory: [1] }, 'private_node=2,user').profile, 'private');
});
test('a probe that broke is an error, never a pass', (t) => {
    const obs = recorded('stock-6.12-private-virtio');
    obs.errors['soft-policy'] = 'probe exited 139';
    const inv = ISOLATION_INVARIANTS.find((i) => i.id === 'soft-policy');
    const r = checkInvariant(inv, obs, { roles, profile: 'vanilla' });
    t.is(r.outcome, 'error');
    t.regex(r.summary, /probe exited 139/);
    delete obs.movePages;
    t.is(checkInvariant(ISOLATION_INVARIANTS.find((i) => i.id === 'move-optin'), obs, { roles, profile: 'vanilla' }).outcome, 'error');
});
test('suites and --only', (t) => {
    t.deepEqual(selectInvariants('smoke'), ['topology', 'abi', 'no-kernel-memory']);
    t.is(selectInvariants('isolation').at(-1), 'no-fallback-in', 'memory pressure runs last');
    t.deepEqual(selectInvariants('isolation', 'hugetlb,topology'), ['topology', 'hugetlb']);
    t.throws(() => selectInvariants('isolation', 'nope'), { message: /unknown invariant "nope"/ });
    t.is(selectInvariants('isolation').length, 17, 'every invariant of the catalogue');
    t.throws(() => selectInvariants('everything'), { message: /unknown suite/ });
});
//# sourceMappingURL=invariants.test.js.map