/**
 * Boot-to-SSH against the same kernel's own bare boot, measured in one run.
 *
 *   node dist/bench/boot.js [--repeat 3] [--kernel stock|built|both] [--systemd]
 *
 * bare:    the kernel boots with init=/bin/true; the time is QEMU start to QEMU exit
 *          (init exits, the kernel panics, panic=-1 and -no-reboot end QEMU): kernel-to-init.
 * minimal: numacage's minimal init, QEMU start to the first SSH session.
 * systemd: Debian's systemd as init, QEMU start to the first SSH session.
 */
import { withDir } from 'tmp-promise';
import { bootGuest } from '../src/guest/boot.js';
import type { InitMode } from '../src/plan/run-plan.js';
import { bootRequest, prepareRun, type KernelChoice } from '../src/run/run.js';
import { BootFailure } from '../src/guest/boot-failure.js';
import { LEAN_KERNEL, oneGuestOptions } from './one-guest.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const repeat = Number(flag('repeat', '3'));
const kernels: KernelChoice[] = (
  flag('kernel', 'both') === 'both' ? ['built', 'stock'] : [flag('kernel', 'built')]
).map((k) => (k === 'built' ? LEAN_KERNEL : { kind: 'stock' }));
const modes: ('bare' | InitMode)[] = args.includes('--systemd') ? ['bare', 'minimal', 'systemd'] : ['bare', 'minimal'];

/** Seconds to SSH (or, bare, to the panic after init), or the failure's reason and title: a failed boot is a result, not an exception. */
async function once(kernel: KernelChoice, mode: 'bare' | InitMode, outDir: string): Promise<number | string> {
  const opts = oneGuestOptions(outDir, kernel, {
    init: mode === 'bare' ? 'minimal' : mode,
    append: mode === 'bare' ? ['init=/bin/true'] : [],
  });
  const started = Date.now();
  try {
    const guest = await bootGuest(bootRequest(await prepareRun(opts), opts.log));
    const seconds = guest.bootToSshSeconds;
    await guest.close();
    if (mode === 'bare') throw new Error('a bare boot must not reach SSH');
    return seconds;
  } catch (err) {
    if (!(err instanceof BootFailure)) throw err;
    if (mode === 'bare' && err.reason === 'kernel-panic') return (Date.now() - started) / 1000;
    return `${err.reason}${err.crash ? `: ${err.crash.title}` : ''}`;
  }
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);
const tally = (xs: string[]) =>
  [...xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>())]
    .map(([x, n]) => `${x} x${n}`)
    .join('; ');

// The run dirs live in a scoped temp dir: removed when the bench ends, by an exception too.
const rows: string[] = [];
await withDir(
  async ({ path: outDir }) => {
    for (const kernel of kernels) {
      const times: Record<string, number[]> = {};
      const failures: Record<string, string[]> = {};
      for (let i = 0; i < repeat; i++)
        for (const mode of modes) {
          const r = await once(kernel, mode, outDir);
          if (typeof r === 'number') (times[mode] ??= []).push(r);
          else (failures[mode] ??= []).push(r);
        }
      const bare = median(times.bare ?? []);
      for (const mode of modes) {
        const ok = times[mode] ?? [];
        const failed = failures[mode] ?? [];
        const m = median(ok);
        rows.push(
          `${kernel.kind.padEnd(6)} ${mode.padEnd(8)} median ${m.toFixed(1).padStart(5)} s  (${ok.map((x) => x.toFixed(1)).join(', ')})  ${mode === 'bare' ? 'baseline' : `${(m / bare).toFixed(2)}x bare`}${failed.length ? `; ${failed.length} failed: ${tally(failed)}` : ''}`,
        );
      }
    }
  },
  { prefix: 'numacage-bench-', unsafeCleanup: true },
);
process.stdout.write(
  `boot-to-SSH vs the same kernel's bare boot-to-init, private-virtio, ${repeat} runs each\n${rows.join('\n')}\n`,
);
