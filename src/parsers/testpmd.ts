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
 * (`show port stats 0` prints one, --stats-period one every period), or
 * undefined when there is none. RX is what the backend took from the guest, TX what it gave back. Pure.
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

const TESTPMD_PROMPT = 'testpmd> ';

/**
 * testpmd's interactive output, as read so far: the replies it holds (the text before each prompt,
 * in order; the first is its start-up) and the text after the last prompt, a reply still coming,
 * to be read again with the next chunk. Pure.
 */
export function takeReplies(text: string): { replies: string[]; rest: string } {
  const parts = text.split(TESTPMD_PROMPT);
  return { replies: parts.slice(0, -1), rest: parts.at(-1)! };
}
