import { pagesOn } from '../probes/isolation-parsers.js';
const KERNEL_COUNTERS = ['Slab', 'SUnreclaim', 'KernelStack', 'PageTables'];
const privateProfile = (profile) => profile === 'private' || profile === 'private-user';
export const abi = {
    id: 'abi',
    title: 'the kernel advertises P as private',
    evaluate(obs, { roles, profile }) {
        const files = Object.keys(obs.nodeStates).filter((f) => /private|common|user/.test(f));
        const passed = privateProfile(profile);
        return {
            passed,
            summary: passed ? `node ${roles.p} is private (${profile})` : `no private-node state for node ${roles.p} in /sys/devices/system/node`,
            problems: [`node state files: ${Object.keys(obs.nodeStates).join(' ')}`],
            evidence: { profile, privateNodeFiles: files, nodeStates: obs.nodeStates },
        };
    },
};
export const noKernelMemory = {
    id: 'no-kernel-memory',
    title: 'no unmovable kernel memory on P',
    evaluate(obs, { roles }) {
        if (!obs.pMeminfoAfterBoot || !obs.pMeminfoAfterWorkload)
            return undefined;
        const problems = [];
        for (const [when, m] of [['after boot', obs.pMeminfoAfterBoot], ['after a slab-heavy workload', obs.pMeminfoAfterWorkload]])
            for (const k of KERNEL_COUNTERS)
                if ((m[k] ?? 0) > 0)
                    problems.push(`node ${roles.p} ${k} is ${m[k]} kB ${when}`);
        const pick = (m) => Object.fromEntries(KERNEL_COUNTERS.map((k) => [k, m[k] ?? 0]));
        const passed = problems.length === 0;
        const slab = obs.pMeminfoAfterWorkload.Slab ?? 0;
        return {
            passed,
            summary: passed ? `node ${roles.p}: Slab, SUnreclaim, KernelStack and PageTables stay 0 kB` : `node ${roles.p} holds kernel memory (Slab ${(slab / 1024).toFixed(1)} MB after the workload)`,
            problems,
            evidence: { node: roles.p, afterBootKiB: pick(obs.pMeminfoAfterBoot), afterWorkloadKiB: pick(obs.pMeminfoAfterWorkload) },
        };
    },
};
export const noFallbackIn = {
    id: 'no-fallback-in',
    title: 'an unbound workload never spills onto P',
    evaluate(obs, { roles }) {
        if (!obs.fill)
            return undefined;
        const steps = obs.fill.records.filter((r) => r.call === 'fault');
        const onP = steps.reduce((s, r) => s + pagesOn(r.placement, roles.p), 0);
        const reached = steps.at(-1)?.mib ?? 0;
        const oomKilled = obs.fill.exitCode !== 0;
        const passed = onP === 0 && obs.fill.pNumaMissDelta === 0;
        const ending = oomKilled ? `killed after ${reached} MiB (OOM)` : `completed ${reached} MiB`;
        return {
            passed,
            summary: passed ? `${ending} with no page on node ${roles.p}` : `${(onP / 256).toFixed(0)} MiB of ${reached} MiB spilled onto node ${roles.p}`,
            problems: [`${onP} pages landed on node ${roles.p}; its numa_miss rose by ${obs.fill.pNumaMissDelta}`],
            evidence: { askedMiB: obs.fill.askedMiB, reachedMiB: reached, pagesOnP: onP, pNumaMissDelta: obs.fill.pNumaMissDelta, exitCode: obs.fill.exitCode },
        };
    },
};
function onP(r, p) {
    return pagesOn(r.placement, p);
}
export const softPolicy = {
    id: 'soft-policy',
    title: 'soft policies never reach P',
    evaluate(obs, { roles }) {
        const recs = obs.softPolicy;
        if (!recs || recs.length < 3)
            return undefined;
        const problems = [];
        const cases = recs.map((r) => {
            const nodes = r.nodes.join(',');
            const landed = onP(r, roles.p);
            const alone = r.nodes.length === 1;
            // {P} alone must be refused (EINVAL) or at least land nothing on P; {C,P} must land nothing on P.
            if (landed > 0)
                problems.push(`${r.mode} {${nodes}}: ${landed} of ${r.pages} pages on node ${roles.p}${alone && r.ret === 0 ? ' (accepted)' : ''}`);
            return { mode: r.mode, nodes: r.nodes, ret: r.ret, errno: r.errno, pagesOnP: landed, placement: r.placement };
        });
        const passed = problems.length === 0;
        return {
            passed,
            summary: passed ? `INTERLEAVE/PREFERRED_MANY {C,P} and PREFERRED {P} put no page on node ${roles.p}` : problems[0],
            problems,
            evidence: { cases },
        };
    },
};
/** Whether the kernel lets this user target P: private-user kernels do, plain private ones must not, vanilla ones do but should not. */
const optedIn = (profile) => profile === 'private-user';
export const bindOptin = {
    id: 'bind-optin',
    title: 'MPOL_BIND to P needs the opt-in',
    evaluate(obs, { roles, profile }) {
        const fresh = obs.bind?.find((r) => r.case === 'fresh');
        const move = obs.bind?.find((r) => r.case === 'move-strict');
        if (!fresh || !move)
            return undefined;
        const problems = [];
        if (optedIn(profile)) {
            if (fresh.ret !== 0 || onP(fresh, roles.p) !== fresh.pages)
                problems.push(`opted in, yet mbind(BIND,{${roles.p}}) gave ${fresh.errno ?? fresh.ret} with ${onP(fresh, roles.p)} of ${fresh.pages} pages on P`);
        }
        else {
            if (fresh.ret === 0)
                problems.push(`mbind(BIND,{${roles.p}}) on a fresh mapping succeeded without opt-in; ${onP(fresh, roles.p)} of ${fresh.pages} pages landed on node ${roles.p}`);
            if (onP(move, roles.p) > 0)
                problems.push(`mbind(BIND,{${roles.p}}, MOVE|STRICT) moved ${onP(move, roles.p)} of ${move.pages} pages onto node ${roles.p}`);
        }
        const passed = problems.length === 0;
        return {
            passed,
            summary: passed ? (optedIn(profile) ? `bind allowed with the opt-in, all pages on node ${roles.p}` : `refused with ${fresh.errno}, no page on node ${roles.p}`) : problems[0],
            problems,
            evidence: { fresh: { ret: fresh.ret, errno: fresh.errno, placement: fresh.placement }, moveStrict: { ret: move.ret, errno: move.errno, before: move.before?.placement, after: move.placement } },
        };
    },
};
export const moveOptin = {
    id: 'move-optin',
    title: 'migration onto P needs the opt-in',
    evaluate(obs, { roles, profile }) {
        const r = obs.movePages;
        if (!r)
            return undefined;
        const moved = onP(r, roles.p);
        const problems = [];
        if (optedIn(profile) && moved !== r.pages)
            problems.push(`opted in, yet only ${moved} of ${r.pages} pages moved to node ${roles.p} (status ${JSON.stringify(r.status)})`);
        if (!optedIn(profile) && moved > 0)
            problems.push(`move_pages as a user moved ${moved} of ${r.pages} pages to node ${roles.p} without opt-in`);
        const passed = problems.length === 0;
        return {
            passed,
            summary: passed ? `${optedIn(profile) ? 'moved with the opt-in' : `refused (status ${[...new Set(r.status)].join(',')}), nothing moved`}` : problems[0],
            problems,
            evidence: { ret: r.ret, errno: r.errno, status: r.status, before: r.before?.placement, after: r.placement },
        };
    },
};
export const migrateOptin = {
    id: 'migrate-optin',
    title: 'migrate_pages(2) onto P needs the opt-in',
    evaluate(obs, { roles, profile }) {
        const r = obs.migratePages;
        if (!r)
            return undefined;
        const moved = onP(r, roles.p);
        const problems = [];
        if (optedIn(profile) && moved === 0)
            problems.push(`opted in, yet migrate_pages({${roles.c}},{${roles.p}}) moved nothing`);
        if (!optedIn(profile) && moved > 0)
            problems.push(`migrate_pages({${roles.c}},{${roles.p}}) as a user moved ${moved} of ${r.pages} pages onto node ${roles.p}`);
        const passed = problems.length === 0;
        return {
            passed,
            summary: passed ? (optedIn(profile) ? `pages moved with the opt-in` : `nothing landed on node ${roles.p} (ret ${r.ret}${r.errno ? ` ${r.errno}` : ''})`) : problems[0],
            problems,
            evidence: { ret: r.ret, errno: r.errno, before: r.before?.placement, after: r.placement },
        };
    },
};
export const hugetlb = {
    id: 'hugetlb',
    title: 'the HugeTLB pool cannot grow on P',
    evaluate(obs, { roles }) {
        if (!obs.hugetlb)
            return undefined;
        const passed = obs.hugetlb.got === 0;
        return {
            passed,
            summary: passed ? `node ${roles.p} nr_hugepages stayed 0 after asking for ${obs.hugetlb.asked}` : `node ${roles.p} took ${obs.hugetlb.got} of ${obs.hugetlb.asked} 2 MiB huge pages`,
            problems: [`nodes/node${roles.p}/hugepages/hugepages-2048kB/nr_hugepages read back ${obs.hugetlb.got}`],
            evidence: { ...obs.hugetlb, node: roles.p },
        };
    },
};
export const demotion = {
    id: 'demotion',
    title: 'P is not a demotion target',
    evaluate(obs, { roles }) {
        if (!obs.tiers)
            return undefined;
        const holding = obs.tiers.tiers.filter((t) => t.nodes.includes(roles.p)).map((t) => t.name);
        const passed = holding.length === 0;
        return {
            passed,
            summary: passed ? `node ${roles.p} is in no memory tier` : `node ${roles.p} is in ${holding.join(', ')} (demotion_enabled ${obs.tiers.demotionEnabled})`,
            problems: holding.map((t) => `node ${roles.p} is listed in /sys/devices/virtual/memory_tiering/${t}/nodelist`),
            evidence: { ...obs.tiers, node: roles.p },
        };
    },
};
export const cpuset = {
    id: 'cpuset',
    title: 'cpuset.mems is enforced',
    evaluate(obs, { roles }) {
        const bind = obs.cpuset?.bind;
        const move = obs.cpuset?.movePages;
        if (!bind || !move)
            return undefined;
        const problems = [];
        if (bind.ret === 0 || onP(bind, roles.p) > 0)
            problems.push(`inside cpuset.mems=${roles.c}, mbind(BIND,{${roles.p}}) gave ${bind.errno ?? bind.ret} and put ${onP(bind, roles.p)} pages on node ${roles.p}`);
        if (onP(move, roles.p) > 0)
            problems.push(`inside cpuset.mems=${roles.c}, move_pages moved ${onP(move, roles.p)} pages to node ${roles.p}`);
        const passed = problems.length === 0;
        return {
            passed,
            summary: passed ? `mbind refused with ${bind.errno}, move_pages ${move.errno ?? `status ${[...new Set(move.status)].join(',')}`}; nothing on node ${roles.p}` : problems[0],
            problems,
            evidence: { mems: roles.c, bind: { ret: bind.ret, errno: bind.errno, placement: bind.placement }, movePages: { ret: move.ret, errno: move.errno, status: move.status, placement: move.placement } },
        };
    },
};
export const bindStrict = {
    id: 'bind-strict',
    title: 'a strict bind stays strict',
    evaluate(obs, { roles }) {
        const b = obs.bindStrict;
        if (!b)
            return undefined;
        const steps = b.records.filter((r) => r.call === 'fault');
        const offP = steps.reduce((sum, r) => sum + Object.entries(r.placement ?? {}).filter(([k]) => /^\d+$/.test(k) && Number(k) !== roles.p).reduce((x, [, v]) => x + v, 0), 0);
        const killed = b.exitCode !== 0;
        const reached = steps.at(-1)?.mib ?? 0;
        const problems = [];
        if (offP > 0)
            problems.push(`${offP} pages bound to node ${roles.p} landed elsewhere`);
        if (!killed)
            problems.push(`asked ${b.askedMiB} MiB of a node that has less, and the task was not OOM-killed`);
        const passed = problems.length === 0;
        return {
            passed,
            summary: passed ? `OOM-killed after ${reached} MiB, every page on node ${roles.p}` : problems[0],
            problems,
            evidence: { askedMiB: b.askedMiB, reachedMiB: reached, pagesOffP: offP, exitCode: b.exitCode },
        };
    },
};
export const thp = {
    id: 'thp',
    title: 'no THP collapse on P, and collapse never moves memory off P',
    evaluate(obs, { roles }) {
        const r = obs.thp;
        if (!r)
            return undefined;
        const huge = r.anon_huge_kb;
        const stayed = onP(r, roles.p);
        const problems = [];
        if (huge > 0)
            problems.push(`MADV_COLLAPSE made ${huge} kB of huge pages on node ${roles.p}`);
        if (stayed !== r.pages && onP({ placement: r.before?.placement }, roles.p) === r.pages)
            problems.push(`collapse moved ${r.pages - stayed} pages off node ${roles.p}`);
        const passed = problems.length === 0;
        return {
            passed,
            summary: passed ? `no huge page on node ${roles.p} (MADV_COLLAPSE ${r.errno ?? r.ret})` : problems[0],
            problems,
            evidence: { bind: { ret: r.bind_ret, errno: r.bind_errno }, collapse: { ret: r.ret, errno: r.errno }, anonHugeKiB: huge, before: r.before?.placement, after: r.placement },
        };
    },
};
export const compaction = {
    id: 'compaction',
    title: 'compaction is gated on P',
    evaluate(obs, { roles }) {
        const c = obs.compaction;
        if (!c)
            return undefined;
        const problems = [];
        if (c.kcompactd)
            problems.push(`kcompactd${roles.p} runs`);
        if (c.compactAccepted)
            problems.push(`writing node${roles.p}/compact was accepted`);
        const passed = problems.length === 0;
        return {
            passed,
            summary: passed ? `no kcompactd${roles.p}, node${roles.p}/compact refused` : problems.join('; '),
            problems,
            evidence: { ...c, node: roles.p },
        };
    },
};
export const deviceLocal = {
    id: 'device-local',
    title: 'allocations for a device on P stay off P',
    unsupported: (t, roles) => (t.devices.some((d) => d.node === roles.p && d.kind === 'virtio-net') ? undefined : `topology ${t.name} places no virtio-net on node ${roles.p}`),
    evaluate(obs, { roles }) {
        const m = obs.pMeminfoAfterTraffic;
        if (!m)
            return undefined;
        const held = KERNEL_COUNTERS.filter((k) => (m[k] ?? 0) > 0);
        const passed = held.length === 0;
        return {
            passed,
            summary: passed ? `after 32 MiB each way over the NIC on node ${roles.p}, no kernel memory on it` : `after NIC traffic node ${roles.p} holds ${held.map((k) => `${k} ${m[k]} kB`).join(', ')}`,
            problems: held.map((k) => `node ${roles.p} ${k} is ${m[k]} kB after traffic over the NIC on it`),
            evidence: { node: roles.p, afterTrafficKiB: Object.fromEntries(KERNEL_COUNTERS.map((k) => [k, m[k] ?? 0])) },
        };
    },
};
const samePfn = (pfns) => Array.isArray(pfns) && pfns[0] !== 0 && pfns[0] === pfns[1];
export const ksm = {
    id: 'ksm',
    title: 'KSM never merges pages on P',
    evaluate(obs, { roles }) {
        const r = obs.ksm;
        // Without a merged control pair on C, KSM did not run: no answer about P.
        if (!r || !samePfn(r.c_pfns))
            return undefined;
        const merged = samePfn(r.p_pfns);
        return {
            passed: !merged,
            summary: merged ? `two identical pages on node ${roles.p} were merged into PFN ${r.p_pfns[0]}` : `the control pair on node ${roles.c} merged, the pair on node ${roles.p} did not`,
            problems: merged ? [`KSM merged the MADV_MERGEABLE pair on node ${roles.p} (PFNs ${r.p_pfns.join(', ')})`] : [],
            evidence: { pPfns: r.p_pfns, cPfns: r.c_pfns, waitedMs: r.waited_ms, pPlacement: r.placement, cPlacement: r.control?.placement },
        };
    },
};
export const numaBalancing = {
    id: 'numa-balancing',
    title: 'NUMA balancing never migrates P\'s pages',
    evaluate(obs, { roles }) {
        const r = obs.numaBalancing;
        if (!r || pagesOn(r.before?.placement, roles.p) !== r.pages)
            return undefined;
        const left = r.pages - onP(r, roles.p);
        return {
            passed: left === 0,
            summary: left === 0 ? `all ${r.pages} pages stayed on node ${roles.p} after ${r.seconds} s of access from CPU ${r.cpu}` : `${left} of ${r.pages} pages migrated off node ${roles.p} in ${r.seconds} s`,
            problems: left ? [`NUMA balancing moved ${left} pages from node ${roles.p} (now ${JSON.stringify(r.placement)})`] : [],
            evidence: { cpu: r.cpu, seconds: r.seconds, before: r.before?.placement, after: r.placement },
        };
    },
};
export const ISOLATION_INVARIANTS = [
    ksm, numaBalancing,
    abi, noKernelMemory, noFallbackIn, softPolicy, bindOptin, moveOptin, migrateOptin, hugetlb, demotion, cpuset, bindStrict, thp, compaction, deviceLocal,
];
//# sourceMappingURL=isolation.js.map