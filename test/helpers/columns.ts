import { INVARIANTS, SUITES } from '../../src/invariants/registry.js';
import { nodeRoles, type KernelProfile } from '../../src/invariants/profile.js';
import type { Topology } from '../../src/model/topology.js';

/**
 * The outcome each check of the default suite must have on a kernel of this profile and topology:
 * the catalogue's column exactly (fail is an xfail, n/a a skip), and a skip where the topology
 * cannot test the check (cpu-hotplug without a CPU slot on P).
 */
export function column(profile: KernelProfile, topology: Topology, ids = SUITES.isolation!): Record<string, string> {
  const roles = nodeRoles(topology)!;
  return Object.fromEntries(
    INVARIANTS.filter((s) => ids.includes(s.id)).map((s) => [
      s.id,
      s.unsupported?.(topology, roles) ? 'skip' : { pass: 'pass', fail: 'xfail', 'n/a': 'skip' }[s.expect[profile]],
    ]),
  );
}
