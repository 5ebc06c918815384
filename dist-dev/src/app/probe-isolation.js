import { readFile } from 'node:fs/promises';
import { GUEST_PROBE_PATH } from '../adapters/probe-binary.js';
import { assembleObservations, HUGEPAGES_ASKED } from '../invariants/observations.js';
import { MEMORY_TIERS_COMMAND, NODE_STATES_COMMAND } from '../probes/isolation-parsers.js';
import { parseNodeMeminfo } from '../probes/sysfs.js';
import { capture, saveProbeOutput } from './probe-guest.js';
export const PROBE_USER = 'probe';
/** How far past node C's free memory the unbound fill goes: enough to force the question, not the whole guest. */
const FILL_EXTRA_MIB = 768;
const FILL_TIMEOUT_MS = 300_000;
const KSM_WAIT_S = 20;
const NUMA_BALANCING_S = 10;
/** Installs the static probe in the guest unless the same binary is already there. */
export async function uploadProbe(guest, binary) {
    const have = await guest.exec(`sha256sum ${GUEST_PROBE_PATH} 2>/dev/null`);
    if (have.stdout.startsWith(binary.sha256))
        return;
    const r = await guest.exec(`cat > ${GUEST_PROBE_PATH}.new && chmod 755 ${GUEST_PROBE_PATH}.new && mv ${GUEST_PROBE_PATH}.new ${GUEST_PROBE_PATH}`, {
        input: await readFile(binary.path),
    });
    if (r.exitCode !== 0)
        throw new Error(`uploading the probe failed: ${r.stderr.trim()}`);
}
/**
 * Runs the probes the selected invariants need, in an order where the ones
 * that disturb the guest (HugeTLB pool, memory pressure) come last. A probe
 * that breaks marks its invariant `error` and the others still run. Policy
 * and migration probes run as the unprivileged user: root (CAP_SYS_NICE)
 * would bypass the permission paths.
 */
export async function probeIsolation(guest, runDir, roles, ids) {
    const { c, p } = roles;
    const get = (name, command, user = 'root') => capture(guest, runDir, name, command, user);
    const raw = {
        'node-states': await get('node-states', NODE_STATES_COMMAND),
        zoneinfo: await get('zoneinfo', 'cat /proc/zoneinfo'),
        cmdline: await get('cmdline', 'cat /proc/cmdline'),
    };
    const errors = {};
    let fill;
    let bindStrict;
    const attempt = async (id, fn) => {
        if (!ids.has(id))
            return;
        try {
            await fn();
        }
        catch (err) {
            errors[id] = err.message;
        }
    };
    const probe = (name, args) => get(name, `${GUEST_PROBE_PATH} ${args}`, PROBE_USER);
    const nodeFile = (node, file) => `/sys/devices/system/node/node${node}/${file}`;
    await attempt('no-kernel-memory', async () => {
        raw['p-meminfo-after-boot'] = await get('p-meminfo-after-boot', `cat ${nodeFile(p, 'meminfo')}`);
        // Slab-heavy: 5000 tmpfs files (dentries, inodes), made by a task on C's CPUs.
        await capture(guest, runDir, 'slab-workload', 'mkdir -p /tmp/nc-slab && cd /tmp/nc-slab && i=0; while [ $i -lt 5000 ]; do : > f$i; i=$((i+1)); done; ls | wc -l');
        raw['p-meminfo-after-workload'] = await get('p-meminfo-after-workload', `cat ${nodeFile(p, 'meminfo')}`);
        await guest.exec('rm -rf /tmp/nc-slab');
    });
    await attempt('device-local', async () => {
        // 32 MiB into the guest and 32 MiB out of it, over the NIC that sits on P.
        const into = await guest.exec('cat > /dev/null', { input: Buffer.alloc(32 << 20, 0x5a), timeoutMs: 120_000 });
        const out = await guest.exec('head -c 33554432 /dev/zero', { timeoutMs: 120_000 });
        if (into.exitCode !== 0 || out.stdout.length !== 32 << 20)
            throw new Error('the traffic over the NIC did not go through');
        raw['p-meminfo-after-traffic'] = await get('p-meminfo-after-traffic', `cat ${nodeFile(p, 'meminfo')}`);
    });
    await attempt('soft-policy', async () => void (raw['soft-policy'] = await probe('soft-policy', `soft-policy ${c} ${p}`)));
    await attempt('bind-optin', async () => void (raw.bind = await probe('bind', `bind ${p}`)));
    await attempt('move-optin', async () => void (raw['move-pages'] = await probe('move-pages', `move-pages ${p}`)));
    await attempt('migrate-optin', async () => void (raw['migrate-pages'] = await probe('migrate-pages', `migrate-pages ${c} ${p}`)));
    await attempt('cpuset', async () => {
        // A cgroup whose cpuset.mems is C; the probe runs in it as the user.
        const cg = '/sys/fs/cgroup/numacage-cpuset';
        const inCg = (args) => `sh -c 'echo $$ > ${cg}/cgroup.procs && exec setpriv --reuid=${PROBE_USER} --regid=${PROBE_USER} --init-groups ${GUEST_PROBE_PATH} ${args}'`;
        raw.cpuset = await get('cpuset', `set -e; grep -qw cpuset /sys/fs/cgroup/cgroup.subtree_control || echo +cpuset > /sys/fs/cgroup/cgroup.subtree_control; mkdir -p ${cg}; echo ${c} > ${cg}/cpuset.mems; ` +
            `${inCg(`bind ${p}`)}; ${inCg(`move-pages ${p}`)}; rmdir ${cg}`);
    });
    await attempt('thp', async () => void (raw.thp = await probe('thp', `thp ${p}`)));
    await attempt('compaction', async () => {
        const alive = (name) => `echo "${name} $(pgrep -x ${name}${p} >/dev/null && echo yes || echo no)"`;
        raw.compaction = await get('compaction', `${alive('kcompactd')}; ${alive('kswapd')}; if echo 1 > ${nodeFile(p, 'compact')} 2>/dev/null; then echo "compact accepted"; else echo "compact refused"; fi`);
    });
    await attempt('ksm', async () => {
        const run = '/sys/kernel/mm/ksm/run';
        const stats = '/sys/kernel/mm/ksm/{full_scans,pages_scanned,pages_shared,pages_sharing,pages_volatile,pages_skipped}';
        raw.ksm = await get('ksm', `echo 1 > ${run}; ${GUEST_PROBE_PATH} ksm ${c} ${p} ${KSM_WAIT_S}; grep -H . ${stats}; echo 2 > ${run}; echo 0 > ${run}`);
        const failed = /"call":"mbind\+madvise","ret":-1,"errno":"(\w+)"/.exec(raw.ksm);
        if (failed)
            throw new Error(`mbind or madvise(MADV_MERGEABLE) failed with ${failed[1]}${failed[1] === 'ENOSYS' ? ' (a kernel without CONFIG_ADVISE_SYSCALLS)' : ''}`);
        if (!/"c_pfns":\[(\d+),\1\]/.test(raw.ksm) || /"c_pfns":\[0,/.test(raw.ksm))
            throw new Error(`KSM did not merge the control pair on node ${c} within ${KSM_WAIT_S} s`);
    });
    await attempt('numa-balancing', async () => {
        const sysctl = '/proc/sys/kernel/numa_balancing';
        const cpu = roles.cpuOfC;
        raw['numa-balancing'] = await get('numa-balancing', `old=$(cat ${sysctl}); echo 1 > ${sysctl}; ${GUEST_PROBE_PATH} numa-balancing ${c} ${p} ${cpu} ${NUMA_BALANCING_S}; echo $old > ${sysctl}`);
    });
    await attempt('hugetlb', async () => {
        const pool = nodeFile(p, 'hugepages/hugepages-2048kB/nr_hugepages');
        raw.hugetlb = await get('hugetlb', `echo ${HUGEPAGES_ASKED} > ${pool}; cat ${pool}; echo 0 > ${pool}`);
    });
    await attempt('demotion', async () => void (raw['memory-tiers'] = await get('memory-tiers', MEMORY_TIERS_COMMAND)));
    await attempt('bind-strict', async () => {
        const pTotalKiB = parseNodeMeminfo(await capture(guest, runDir, 'p-meminfo-before-bind-strict', `cat ${nodeFile(p, 'meminfo')}`)).MemTotal ?? 0;
        const askedMiB = Math.ceil(pTotalKiB / 1024 / 64) * 64 + 256;
        const r = await guest.exec(`${GUEST_PROBE_PATH} fill ${askedMiB} 64 ${p}`, { user: PROBE_USER, timeoutMs: FILL_TIMEOUT_MS });
        await saveProbeOutput(runDir, 'bind-strict', r);
        if (r.timedOut)
            throw new Error(`the bound fill did not finish within ${FILL_TIMEOUT_MS / 1000} s`);
        raw['bind-strict'] = r.stdout;
        bindStrict = { exitCode: r.exitCode, askedMiB };
    });
    await attempt('no-fallback-in', async () => {
        raw['p-numastat-before'] = await get('p-numastat-before', `cat ${nodeFile(p, 'numastat')}`);
        const cFreeKiB = parseNodeMeminfo(await capture(guest, runDir, 'c-meminfo-before-fill', `cat ${nodeFile(c, 'meminfo')}`)).MemFree ?? 0;
        const askedMiB = Math.ceil(cFreeKiB / 1024 / 64) * 64 + FILL_EXTRA_MIB;
        // The fill may be OOM-killed (exit 137): that is an answer, not a probe failure.
        const r = await guest.exec(`${GUEST_PROBE_PATH} fill ${askedMiB} 64`, { user: PROBE_USER, timeoutMs: FILL_TIMEOUT_MS });
        await saveProbeOutput(runDir, 'fill', r);
        if (r.timedOut)
            throw new Error(`the fill did not finish within ${FILL_TIMEOUT_MS / 1000} s`);
        raw.fill = r.stdout;
        raw['p-numastat-after'] = await get('p-numastat-after', `cat ${nodeFile(p, 'numastat')}`);
        fill = { exitCode: r.exitCode, askedMiB };
    });
    return assembleObservations(raw, { fill, bindStrict, errors });
}
//# sourceMappingURL=probe-isolation.js.map