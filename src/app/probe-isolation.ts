import { readFile } from 'node:fs/promises';
import { GUEST_PROBE_PATH } from '../adapters/probe-binary.js';
import type { IsolationObservations } from '../invariants/invariant.js';
import type { NodeRoles } from '../invariants/profile.js';
import {
  MEMORY_TIERS_COMMAND, NODE_STATES_COMMAND, parseMemoryTiers, parseNodeStates, parseNumastat, parseProbeOutput, parseZoneinfo,
} from '../probes/isolation-parsers.js';
import { parseNodeMeminfo } from '../probes/sysfs.js';
import type { Guest } from './boot-guest.js';
import { capture, saveProbeOutput } from './probe-guest.js';

export const PROBE_USER = 'probe';
const HUGEPAGES_ASKED = 4;
/** How far past node C's free memory the unbound fill goes: enough to force the question, not the whole guest. */
const FILL_EXTRA_MIB = 384;

/** Installs the static probe in the guest unless the same binary is already there. */
export async function uploadProbe(guest: Guest, binary: { path: string; sha256: string }): Promise<void> {
  const have = await guest.exec(`sha256sum ${GUEST_PROBE_PATH} 2>/dev/null`);
  if (have.stdout.startsWith(binary.sha256)) return;
  const r = await guest.exec(`cat > ${GUEST_PROBE_PATH}.new && chmod 755 ${GUEST_PROBE_PATH}.new && mv ${GUEST_PROBE_PATH}.new ${GUEST_PROBE_PATH}`, {
    input: await readFile(binary.path),
  });
  if (r.exitCode !== 0) throw new Error(`uploading the probe failed: ${r.stderr.trim()}`);
}

/**
 * Runs the probes the selected invariants need, in an order where the ones
 * that disturb the guest (HugeTLB pool, memory pressure) come last. A probe
 * that breaks marks its invariants `error` and the others still run.
 */
export async function probeIsolation(guest: Guest, runDir: string, roles: NodeRoles, ids: Set<string>): Promise<IsolationObservations> {
  const { c, p } = roles;
  const obs: IsolationObservations = {
    nodeStates: parseNodeStates(await capture(guest, runDir, 'node-states', NODE_STATES_COMMAND)),
    zones: parseZoneinfo(await capture(guest, runDir, 'zoneinfo', 'cat /proc/zoneinfo')),
    cmdline: (await capture(guest, runDir, 'cmdline', 'cat /proc/cmdline')).trim(),
    errors: {},
  };
  const attempt = async (id: string, fn: () => Promise<void>) => {
    if (!ids.has(id)) return;
    try {
      await fn();
    } catch (err) {
      obs.errors[id] = (err as Error).message;
    }
  };
  const asUser = (name: string, args: string) => capture(guest, runDir, name, `${GUEST_PROBE_PATH} ${args}`, PROBE_USER);
  const nodeFile = (node: number, file: string) => `/sys/devices/system/node/node${node}/${file}`;

  await attempt('no-kernel-memory', async () => {
    obs.pMeminfoAfterBoot = parseNodeMeminfo(await capture(guest, runDir, 'p-meminfo-after-boot', `cat ${nodeFile(p, 'meminfo')}`));
    // Slab-heavy: 5000 tmpfs files (dentries, inodes), made by a task on C's CPUs.
    await capture(guest, runDir, 'slab-workload', 'mkdir -p /tmp/nc-slab && cd /tmp/nc-slab && i=0; while [ $i -lt 5000 ]; do : > f$i; i=$((i+1)); done; ls | wc -l');
    obs.pMeminfoAfterWorkload = parseNodeMeminfo(await capture(guest, runDir, 'p-meminfo-after-workload', `cat ${nodeFile(p, 'meminfo')}`));
    await guest.exec('rm -rf /tmp/nc-slab');
  });
  await attempt('soft-policy', async () => void (obs.softPolicy = parseProbeOutput(await asUser('soft-policy', `soft-policy ${c} ${p}`))));
  await attempt('bind-optin', async () => void (obs.bind = parseProbeOutput(await asUser('bind', `bind ${p}`))));
  await attempt('move-optin', async () => void (obs.movePages = parseProbeOutput(await asUser('move-pages', `move-pages ${p}`))[0]));
  await attempt('migrate-optin', async () => void (obs.migratePages = parseProbeOutput(await asUser('migrate-pages', `migrate-pages ${c} ${p}`))[0]));
  await attempt('hugetlb', async () => {
    const pool = nodeFile(p, 'hugepages/hugepages-2048kB/nr_hugepages');
    const got = await capture(guest, runDir, 'hugetlb', `echo ${HUGEPAGES_ASKED} > ${pool}; cat ${pool}; echo 0 > ${pool}`);
    obs.hugetlb = { asked: HUGEPAGES_ASKED, got: Number(got.trim()) };
  });
  await attempt('demotion', async () => void (obs.tiers = parseMemoryTiers(await capture(guest, runDir, 'memory-tiers', MEMORY_TIERS_COMMAND))));
  await attempt('no-fallback-in', async () => {
    const missBefore = parseNumastat(await capture(guest, runDir, 'p-numastat-before', `cat ${nodeFile(p, 'numastat')}`)).numa_miss ?? 0;
    const cFreeKiB = parseNodeMeminfo(await capture(guest, runDir, 'c-meminfo-before-fill', `cat ${nodeFile(c, 'meminfo')}`)).MemFree ?? 0;
    const askedMiB = Math.ceil(cFreeKiB / 1024 / 64) * 64 + FILL_EXTRA_MIB;
    // The fill may be OOM-killed (exit 137): that is an answer, not a probe failure.
    const r = await guest.exec(`${GUEST_PROBE_PATH} fill ${askedMiB} 64`, { user: PROBE_USER, timeoutMs: 300_000 });
    await saveProbeOutput(runDir, 'fill', r);
    if (r.timedOut) throw new Error('the fill did not finish within 300 s');
    const missAfter = parseNumastat(await capture(guest, runDir, 'p-numastat-after', `cat ${nodeFile(p, 'numastat')}`)).numa_miss ?? 0;
    obs.fill = { records: parseProbeOutput(r.stdout), exitCode: r.exitCode, askedMiB, pNumaMissDelta: missAfter - missBefore };
  });
  return obs;
}
