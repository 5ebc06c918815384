import { ConfigError } from '../model/errors.js';

/** One cell of a matrix: a topology, a kernel, and which of the pair's guests. */
export interface Cell<K> {
  /** topology/kernel, with #guest when the pair runs several guests: the name merge and compare match on. */
  id: string;
  topology: string;
  kernel: K;
  guest: number;
}

/** topology/kernel, #guest when the pair runs several guests. */
export const cellId = (topology: string, kernelLabel: string, guest?: number): string =>
  `${topology}/${kernelLabel}${guest ? `#${guest}` : ''}`;

/**
 * Every cell of a matrix, topology by topology, kernel by kernel: the order
 * the matrix table shows. topologies are resolved names (a path's topology
 * goes by its name), kernelLabel names a kernel (stock, built:private-node).
 */
export function matrixCells<K>(
  topologies: string[],
  kernels: K[],
  kernelLabel: (k: K) => string,
  guests: number,
): Cell<K>[] {
  const cells = topologies.flatMap((topology) =>
    kernels.flatMap((kernel) =>
      Array.from({ length: guests }, (_, g) => ({
        id: cellId(topology, kernelLabel(kernel), guests > 1 ? g + 1 : undefined),
        topology,
        kernel,
        guest: g + 1,
      })),
    ),
  );
  const seen = new Set<string>();
  for (const c of cells) {
    if (seen.has(c.id))
      throw new ConfigError(
        `the matrix names cell ${c.id} twice`,
        'list each topology and kernel once in --topology and --kernel (--guests runs a pair several times)',
      );
    seen.add(c.id);
  }
  return cells;
}

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** --shard I/N, 1 <= I <= N. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count)
    throw new ConfigError(
      `--shard ${text}: not I/N with 1 <= I <= N`,
      'write e.g. --shard 1/2 (the first of two shards); CI engines give the index as $CI_NODE_INDEX or ${{ matrix.shard }}',
    );
  return { index, count };
}

/**
 * Shard I of N: a contiguous block of the cells ordered kernel first, so
 * that a kernel's cells mostly share a shard (fewer kernel builds per
 * shard); block sizes differ by at most one. More shards than cells leaves
 * the last ones empty (a CI template's N need not follow the matrix).
 * Stable: the same matrix and N give every shard the same cells on every
 * machine. Pure.
 */
export function shardCells<K>(cells: Cell<K>[], shard: Shard, kernelLabel: (k: K) => string): Cell<K>[] {
  const kernelOrder = [...new Set(cells.map((c) => kernelLabel(c.kernel)))];
  const ordered = [...cells].sort(
    (a, b) => kernelOrder.indexOf(kernelLabel(a.kernel)) - kernelOrder.indexOf(kernelLabel(b.kernel)),
  );
  const base = Math.floor(cells.length / shard.count);
  const extra = cells.length % shard.count;
  const start = (shard.index - 1) * base + Math.min(shard.index - 1, extra);
  const size = base + (shard.index <= extra ? 1 : 0);
  const mine = new Set(ordered.slice(start, start + size));
  // The shard's cells in matrix order, as its table shows them.
  return cells.filter((c) => mine.has(c));
}
