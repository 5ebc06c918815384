import { ProbeError } from './errors.js';

/** Where the static probe is installed in the guest (guest/scripts/lib.sh runs it from there). */
export const GUEST_PROBE_PATH = '/usr/local/bin/numacage-probe';

export const nodeFile = (node: number, file: string) => `/sys/devices/system/node/node${node}/${file}`;

/** The status a "# exit N" line reports (the last one), or a ProbeError. */
export function exitStatus(text: string, what: string): number {
  const all = [...text.matchAll(/^# exit (\d+)$/gm)];
  if (!all.length) throw new ProbeError(`${what}: no exit status`);
  return Number(all.at(-1)![1]);
}

/** 128 + SIGKILL: what a shell reports for a task the OOM killer took. */
export const KILLED = 137;

/** A probe run must end with 0; anything else is a broken probe, named with its status. */
export function assertRanClean(text: string, what: string): void {
  const status = exitStatus(text, what);
  if (status !== 0)
    throw new ProbeError(
      `${what}: the probe exited ${status}${status === 126 || status === 127 ? ' (could not be run)' : ''}`,
    );
}

/** One shell word, whatever the text: single quotes, with each ' written as '\''. */
export const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
