import { parseMemoryTiers, parseNodeStates, parseNumastat, parseProbeOutput, parseZoneinfo, } from '../probes/isolation-parsers.js';
import { parseNodeMeminfo } from '../probes/sysfs.js';
export const HUGEPAGES_ASKED = 4;
/** Raw probe texts → observations. Pure; the same code reads a live guest and a fixture. */
export function assembleObservations(raw, extra = {}) {
    const obs = {
        nodeStates: parseNodeStates(raw['node-states']),
        zones: parseZoneinfo(raw.zoneinfo),
        cmdline: raw.cmdline.trim(),
        errors: { ...extra.errors },
    };
    if (raw['p-meminfo-after-boot'] !== undefined)
        obs.pMeminfoAfterBoot = parseNodeMeminfo(raw['p-meminfo-after-boot']);
    if (raw['p-meminfo-after-workload'] !== undefined)
        obs.pMeminfoAfterWorkload = parseNodeMeminfo(raw['p-meminfo-after-workload']);
    if (raw['soft-policy'] !== undefined)
        obs.softPolicy = parseProbeOutput(raw['soft-policy']);
    if (raw.bind !== undefined)
        obs.bind = parseProbeOutput(raw.bind);
    if (raw['move-pages'] !== undefined)
        obs.movePages = parseProbeOutput(raw['move-pages'])[0];
    if (raw['migrate-pages'] !== undefined)
        obs.migratePages = parseProbeOutput(raw['migrate-pages'])[0];
    if (raw.hugetlb !== undefined)
        obs.hugetlb = { asked: HUGEPAGES_ASKED, got: Number(raw.hugetlb.trim().split('\n')[0]) };
    if (raw['memory-tiers'] !== undefined)
        obs.tiers = parseMemoryTiers(raw['memory-tiers']);
    if (raw.fill !== undefined && extra.fill && raw['p-numastat-before'] !== undefined && raw['p-numastat-after'] !== undefined) {
        const miss = (t) => parseNumastat(t).numa_miss ?? 0;
        obs.fill = {
            records: parseProbeOutput(raw.fill),
            exitCode: extra.fill.exitCode,
            askedMiB: extra.fill.askedMiB,
            pNumaMissDelta: miss(raw['p-numastat-after']) - miss(raw['p-numastat-before']),
        };
    }
    if (raw.cpuset !== undefined) {
        const recs = parseProbeOutput(raw.cpuset);
        obs.cpuset = { bind: recs.find((r) => r.probe === 'bind' && r.case === 'fresh'), movePages: recs.find((r) => r.probe === 'move-pages') };
    }
    if (raw['bind-strict'] !== undefined && extra.bindStrict)
        obs.bindStrict = { records: parseProbeOutput(raw['bind-strict']), ...extra.bindStrict };
    if (raw.thp !== undefined)
        obs.thp = parseProbeOutput(raw.thp)[0];
    if (raw.compaction !== undefined) {
        const has = (word) => new RegExp(`^${word} yes$`, 'm').test(raw.compaction);
        obs.compaction = { kcompactd: has('kcompactd'), kswapd: has('kswapd'), compactAccepted: /^compact accepted$/m.test(raw.compaction) };
    }
    if (raw.ksm !== undefined)
        obs.ksm = parseProbeOutput(raw.ksm).find((r) => r.call === 'merge');
    if (raw['numa-balancing'] !== undefined)
        obs.numaBalancing = parseProbeOutput(raw['numa-balancing'])[0];
    if (raw['p-meminfo-after-traffic'] !== undefined)
        obs.pMeminfoAfterTraffic = parseNodeMeminfo(raw['p-meminfo-after-traffic']);
    return obs;
}
//# sourceMappingURL=observations.js.map