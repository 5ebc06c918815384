/** One port's counters as DPDK testpmd prints them ("NIC statistics for port N"). */
export interface PortStats {
  rxPackets: number;
  rxBytes: number;
  rxMissed: number;
  rxErrors: number;
  rxNoMbuf: number;
  txPackets: number;
  txBytes: number;
  txErrors: number;
}

const FIELDS: [keyof PortStats, string][] = [
  ['rxPackets', 'RX-packets'],
  ['rxBytes', 'RX-bytes'],
  ['rxMissed', 'RX-missed'],
  ['rxErrors', 'RX-errors'],
  ['rxNoMbuf', 'RX-nombuf'],
  ['txPackets', 'TX-packets'],
  ['txBytes', 'TX-bytes'],
  ['txErrors', 'TX-errors'],
];

/**
 * The last whole "NIC statistics for port 0" block in testpmd's output
 * (--stats-period prints one every period), or undefined when there is none
 * yet. RX is what the backend took from the guest, TX what it gave back. Pure.
 */
export function parseTestpmdStats(text: string): PortStats | undefined {
  const blocks = text.split('NIC statistics for port 0');
  for (let i = blocks.length - 1; i > 0; i--) {
    const block = blocks[i]!.split(/\n\s*#{20,}/)[0]!;
    const stats: Partial<PortStats> = {};
    for (const [key, label] of FIELDS) {
      const m = new RegExp(`${label}:\\s+(\\d+)`).exec(block);
      if (m) stats[key] = Number(m[1]);
    }
    if (FIELDS.every(([key]) => stats[key] !== undefined)) return stats as PortStats;
  }
  return undefined;
}

const WHOLE_BLOCK = /NIC statistics for port 0[\s\S]*?TX-packets:[^\n]*\n[\s\S]*?\n\s*#{20,}/;

/**
 * The whole counter blocks at the start of a stream's unread text, in order, and the text left
 * after the last of them (a block still being printed stays there for the next chunk). Pure.
 */
export function takeWholeBlocks(text: string): { blocks: PortStats[]; rest: string } {
  const blocks: PortStats[] = [];
  let rest = text;
  for (let m = WHOLE_BLOCK.exec(rest); m; m = WHOLE_BLOCK.exec(rest)) {
    rest = rest.slice(m.index + m[0].length);
    const stats = parseTestpmdStats(m[0]);
    if (stats) blocks.push(stats);
  }
  return { blocks, rest };
}
