import type { Topology } from '../model/topology.js';

/** A memfd mapping of QEMU's: one memory-backend-memfd's guest RAM. */
export interface MemfdMapping {
  start: number;
  end: number;
  /** rw-s (share=on, MAP_SHARED) or rw-p (share=off, MAP_PRIVATE). */
  shared: boolean;
}

/** Where a node's RAM sits in QEMU's address space. */
export interface NodeBacking extends MemfdMapping {
  node: number;
}

const MEMFD_MAPPING =
  /^([0-9a-f]+)-([0-9a-f]+) r[w-][x-]([sp]) \S+ \S+ \d+\s+\/memfd:memory-backend-memfd \(deleted\)$/;

/** The memory-backend-memfd mappings in a /proc/PID/maps text. Pure. */
export function parseMemfdMappings(maps: string): MemfdMapping[] {
  return maps.split('\n').flatMap((line) => {
    const m = MEMFD_MAPPING.exec(line.trim());
    return m ? [{ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), shared: m[3] === 's' }] : [];
  });
}

/**
 * The mapping that holds node's RAM, or why it cannot be told. Every memfd
 * backend has the same name in /proc/PID/maps and neither QMP nor inode or
 * fd order says reliably which node a mapping is (inode numbers come from
 * per-CPU batches), so a node is recognised by its size and share flag,
 * which must be unique among QEMU's memfd mappings. Pure.
 */
export function backingOf(
  mappings: MemfdMapping[],
  topology: Topology,
  node: number,
): NodeBacking | { unavailable: string } {
  const n = topology.nodes.find((x) => x.id === node);
  if (!n) return { unavailable: `topology ${topology.name} has no node ${node}` };
  if (n.backend.kind !== 'memfd') return { unavailable: `node ${node} is backed by anonymous RAM, not a memfd` };
  if (n.backend.hugetlb) return { unavailable: `node ${node}'s memfd is on hugetlbfs` };
  const bytes = n.memMiB * 1024 * 1024;
  const share = n.backend.share;
  const twins = topology.nodes.filter(
    (x) =>
      x.id !== node &&
      x.backend.kind === 'memfd' &&
      x.backend.share === share &&
      !x.backend.hugetlb &&
      x.memMiB === n.memMiB,
  );
  const tell = `share=${share ? 'on' : 'off'}, ${n.memMiB} MiB`;
  if (twins.length)
    return {
      unavailable: `node ${node}'s memfd cannot be told from node ${twins[0]!.id}'s (both ${tell}): give them different sizes`,
    };
  const found = mappings.filter((m) => m.shared === share && m.end - m.start === bytes);
  if (found.length !== 1)
    return { unavailable: `QEMU has ${found.length} memfd mappings of ${tell}, where node ${node} needs exactly one` };
  return { ...found[0]!, node };
}
