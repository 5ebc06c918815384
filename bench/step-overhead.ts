/**
 * What a guest step costs before its script does anything, and what a wait costs, in one guest:
 * QEMU's CPU time (utime + stime of the whole process, read from /proc) and the wall time of each.
 *
 *   node dist/bench/step-overhead.js [--repeat 20]
 *
 * floor:    an SSH session that runs `true` (sshd's fork and root's login shell).
 * before:   a no-op step as it was sent until 2026-12-05: `env V=.. taskset -c 0,1 bash -c '<lib.sh>:' name`.
 * now:      the same step as guestCommand sends it (src/invariants/guest-scripts.ts), pinned as before.
 * now-free: the same, unpinned (what a topology whose CPUs are all C's sends).
 * wait-*:   a step that waits 3 s for a sleeping child to end, polling every 0.05 s: with grep and
 *           sleep (the loop lib.sh had) and with lib.sh's state_of and nap. Under TCG the guest's CPU
 *           is the host's: what a wait burns, the other guest of a CI phase does not get.
 */
import { readFileSync } from 'node:fs';
import { withDir } from 'tmp-promise';
import { bootGuest, type Guest } from '../src/guest/boot.js';
import { bootRequest, prepareRun } from '../src/run/run.js';
import { readGuestScript } from '../src/adapters/guest-scripts.js';
import { guestCommand } from '../src/invariants/guest-scripts.js';
import { shellQuote } from '../src/invariants/shell.js';
import { LEAN_KERNEL, oneGuestOptions } from './one-guest.js';

const args = process.argv.slice(2);
const at = args.indexOf('--repeat');
const repeat = at >= 0 ? Number(args[at + 1]) : 20;

const lib = readGuestScript('lib.sh');
const read = (file: string) => (file === 'noop.sh' ? ':\n' : file === 'wait.sh' ? WAIT_NOW : readGuestScript(file));
const step = (script: string) => ({ name: 'bench', script, env: { C: 0, P: 1 } });
const WAIT_GREP = `sleep 3 & p=$!
while [ -e /proc/$p ] && ! grep -qs "^State:[[:space:]]*Z" /proc/$p/status; do sleep 0.05; done
`;
const WAIT_NOW = `sleep 3 & p=$!
until gone "$p"; do nap 0.05; done
`;

const FORMS: [string, string][] = [
  ['floor', 'true'],
  ['before', `env C=0 P=1 taskset -c 0,1 bash -c ${shellQuote(`${lib}:\n`)} bench`],
  ['now', guestCommand(step('noop.sh'), read, [0, 1])],
  ['now-free', guestCommand(step('noop.sh'), read)],
  ['wait-grep', `env C=0 P=1 taskset -c 0,1 bash -c ${shellQuote(`${lib}${WAIT_GREP}`)} bench`],
  ['wait-now', guestCommand(step('wait.sh'), read)],
];

/** QEMU's CPU seconds so far: utime + stime of its /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s). */
function qemuCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measure(guest: Guest, command: string, times: number): Promise<{ cpu: number; wall: number }> {
  const cpu0 = qemuCpuSeconds(guest.qemu.pid);
  const wall0 = Date.now();
  for (let i = 0; i < times; i++) {
    const r = await guest.exec(command, { timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.stderr}`);
  }
  return { cpu: (qemuCpuSeconds(guest.qemu.pid) - cpu0) / times, wall: (Date.now() - wall0) / 1000 / times };
}

const rows: string[] = [];
await withDir(
  async ({ path: outDir }) => {
    const opts = oneGuestOptions(outDir, LEAN_KERNEL);
    const guest = await bootGuest(bootRequest(await prepareRun(opts), opts.log));
    try {
      await measure(guest, 'true', 3); // sshd and the page cache warm
      const floor = await measure(guest, 'true', repeat);
      for (const [name, command] of FORMS) {
        const m = name === 'floor' ? floor : await measure(guest, command, name.startsWith('wait') ? 3 : repeat);
        rows.push(
          `${name.padEnd(9)} QEMU CPU ${(m.cpu * 1000).toFixed(0).padStart(5)} ms  wall ${(m.wall * 1000).toFixed(0).padStart(5)} ms  ${name === 'floor' ? 'baseline' : `+${((m.cpu - floor.cpu) * 1000).toFixed(0)} ms CPU over the floor`}`,
        );
      }
    } finally {
      await guest.close();
    }
  },
  { prefix: 'numacage-bench-', unsafeCleanup: true },
);
process.stdout.write(`a step's cost before its script, lean kernel, private-virtio, per command\n${rows.join('\n')}\n`);
