import { ConfigError } from '../model/errors.js';
import { abi } from './families/abi.js';
import { damonMigrate, memorySpread, onlineKernel } from './families/agents.js';
import { bootData } from './families/boot-data.js';
import { bootReserve } from './families/boot-reserve.js';
import { deviceLocal, virtioRings } from './families/devices.js';
import { deviceIo } from './families/device-io.js';
import { buffersOnP } from './families/buffers.js';
import { noKernelMemory } from './families/kernel-memory.js';
import { pInUse } from './families/p-in-use.js';
import { hugetlbUser } from './families/hugetlb-user.js';
import { hugetlbSurplus, hugetlbSurplusReserved, hugetlbSurplusSpared } from './families/hugetlb-surplus.js';
import { ksmCross, ksmRmap } from './families/ksm-cross.js';
import { longtermPin, moveOptin, migrateOptin } from './families/migration.js';
import { compaction, demotion, hugetlb, hugetlbBoot, ksm, numaBalancing, thp } from './families/mm-daemons.js';
import { bindOptin, bindStrict, cpuset, noFallbackIn, softPolicy } from './families/policy.js';
import { bindSpill, cpuHotplug, cpusetMigrate, cpusetPrivate, cpusetShrink, homeNode } from './families/confinement.js';
import { reclaimUser } from './families/reclaim.js';
import { swapReadahead } from './families/swap-readahead.js';
import { swapReadaheadReverse } from './families/swap-readahead-reverse.js';
import { zpoolUser } from './families/zpool-user.js';
import { cmaUser } from './families/cma-user.js';
import { cmaRings } from './families/cma-rings.js';
import { topology } from './families/topology.js';
import type { InvariantSpec } from './spec.js';

/**
 * Every invariant, in the order they run: the read-mostly ones first, then
 * those that disturb the guest (pools, memory pressure, a hot-added CPU), the
 * heaviest last; cpuset-shrink and cpuset-private very last, since on a
 * kernel that leaves a cpuset P alone they can crash the guest (the rest of
 * the run is lost).
 */
export const INVARIANTS: InvariantSpec[] = [
  topology,
  abi,
  bootData,
  bootReserve,
  noKernelMemory,
  deviceLocal,
  virtioRings,
  deviceIo,
  buffersOnP,
  softPolicy,
  bindOptin,
  moveOptin,
  migrateOptin,
  cpuset,
  hugetlbBoot,
  homeNode,
  thp,
  longtermPin,
  ksm,
  ksmCross,
  ksmRmap,
  numaBalancing,
  compaction,
  cmaRings,
  damonMigrate,
  hugetlb,
  hugetlbUser,
  hugetlbSurplus,
  hugetlbSurplusReserved,
  hugetlbSurplusSpared,
  demotion,
  bindStrict,
  bindSpill,
  reclaimUser,
  swapReadahead,
  swapReadaheadReverse,
  zpoolUser,
  cmaUser,
  cpusetMigrate,
  memorySpread,
  noFallbackIn,
  pInUse,
  onlineKernel,
  cpuHotplug,
  cpusetShrink,
  cpusetPrivate,
] as InvariantSpec[];

const BY_ID = new Map(INVARIANTS.map((s) => [s.id, s]));

export function invariant(id: string): InvariantSpec {
  const spec = BY_ID.get(id);
  if (!spec) throw new Error(`no invariant ${id}`);
  return spec;
}

/** Checks that need a device with a host backend (a vhost-user topology): their own suite, not yet the default's. */
const DEVICE_CHECKS = new Set([deviceIo.id, buffersOnP.id]);

export const SUITES: Record<string, string[]> = {
  isolation: INVARIANTS.filter((s) => !DEVICE_CHECKS.has(s.id)).map((s) => s.id),
  /** The host device that shares only P (docs/devices.md): on private-vhost and its variants. */
  device: ['topology', ...DEVICE_CHECKS],
  /** Both: the 44 rows and the device's two, for a vhost-user topology. */
  all: INVARIANTS.map((s) => s.id),
  /** Quick and read-only: for runs whose subject is not the invariants. */
  smoke: ['topology', 'abi', 'no-kernel-memory'],
  /** No invariant: the run is its --exec steps (a reproducer, kselftests). */
  none: [],
};

/** --suite NAME or --only id,id → the invariant ids to run, in run order. Pure. */
export function selectInvariants(suite: string, only?: string): string[] {
  const all = INVARIANTS.map((s) => s.id);
  if (only) {
    const ids = only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const id of ids)
      if (!BY_ID.has(id)) throw new ConfigError(`--only: unknown invariant "${id}"`, `use ids from: ${all.join(', ')}`);
    return all.filter((id) => ids.includes(id));
  }
  const ids = Object.hasOwn(SUITES, suite) ? SUITES[suite] : undefined;
  if (!ids) throw new ConfigError(`--suite ${suite}: unknown suite`, `use one of: ${Object.keys(SUITES).join(', ')}`);
  return ids;
}
