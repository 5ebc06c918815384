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
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootGuest } from '../src/app/boot-guest.js';
import { bootRequest, prepareRun } from '../src/app/run.js';
import { resolveCacheDir } from '../src/adapters/cache-dir.js';
import { DEFAULT_FRAGMENTS } from '../src/adapters/kernel-builder.js';
import { BootFailure } from '../src/guest/boot-failure.js';
import { silentLogger } from '../src/log.js';
const args = process.argv.slice(2);
const flag = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
};
const repeat = Number(flag('repeat', '3'));
const kernels = (flag('kernel', 'both') === 'both' ? ['built', 'stock'] : [flag('kernel', 'built')]).map((k) => k === 'built' ? { kind: 'built', fragments: DEFAULT_FRAGMENTS } : { kind: 'stock' });
const modes = args.includes('--systemd') ? ['bare', 'minimal', 'systemd'] : ['bare', 'minimal'];
async function once(kernel, mode, outDir) {
    const opts = {
        cacheDir: resolveCacheDir(), outDir, topology: 'private-virtio', image: 'debian-bookworm', accel: 'auto', keep: false,
        init: mode === 'bare' ? 'minimal' : mode, append: mode === 'bare' ? ['init=/bin/true'] : [], kernel, log: silentLogger(), invariants: [],
    };
    const started = Date.now();
    try {
        const guest = await bootGuest(bootRequest(await prepareRun(opts), opts));
        const seconds = guest.bootToSshSeconds;
        await guest.close();
        if (mode === 'bare')
            throw new Error('a bare boot must not reach SSH');
        return seconds;
    }
    catch (err) {
        if (mode === 'bare' && err instanceof BootFailure && err.reason === 'kernel-panic')
            return (Date.now() - started) / 1000;
        throw err;
    }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const outDir = await mkdtemp(join(tmpdir(), 'numacage-bench-'));
const rows = [];
for (const kernel of kernels) {
    const times = {};
    for (let i = 0; i < repeat; i++)
        for (const mode of modes)
            (times[mode] ??= []).push(await once(kernel, mode, outDir));
    const bare = median(times.bare);
    for (const mode of modes) {
        const m = median(times[mode]);
        rows.push(`${kernel.kind.padEnd(6)} ${mode.padEnd(8)} median ${m.toFixed(1).padStart(5)} s  (${times[mode].map((x) => x.toFixed(1)).join(', ')})  ${mode === 'bare' ? 'baseline' : `${(m / bare).toFixed(2)}x bare`}`);
    }
}
await rm(outDir, { recursive: true, force: true });
process.stdout.write(`boot-to-SSH vs the same kernel's bare boot-to-init, private-virtio, ${repeat} runs each\n${rows.join('\n')}\n`);
//# sourceMappingURL=boot.js.map