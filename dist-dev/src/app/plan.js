import { cachedKvmVerdict } from '../adapters/accel.js';
import { imageKey, loadRecipe } from '../adapters/image-builder.js';
import { ContentStore } from '../adapters/cache-dir.js';
import { QEMU_BINARY } from '../adapters/qemu-process.js';
import { buildKernelCmdline, buildQemuArgs } from '../qemu/args.js';
import { renderCommandLine } from '../qemu/reproducer.js';
import { MINIMAL_INIT } from './boot-guest.js';
import { resolveTopology } from './resolve.js';
import { findCachedKernel } from '../adapters/kernel-builder.js';
import { join } from 'node:path';
/** `numacage plan --dry-run`: the resolved topology and the exact QEMU argv; builds and boots nothing. */
export async function planCommand(opts) {
    const topology = await resolveTopology(opts.topology);
    const recipe = await loadRecipe(opts.image);
    const { key, kernelPackage } = await imageKey(recipe);
    const store = new ContentStore(opts.cacheDir, 'images');
    const cached = await store.has(key);
    const dir = store.entryPath(key);
    let accel = 'tcg';
    let cpuModel = 'max';
    let accelNote = 'TCG';
    if (opts.accel === 'kvm')
        [accel, cpuModel, accelNote] = ['kvm', 'host', 'KVM (as asked)'];
    else if (opts.accel === 'auto') {
        const kvm = await cachedKvmVerdict(opts.cacheDir);
        if (kvm?.usable)
            [accel, cpuModel, accelNote] = ['kvm', kvm.cpuModel, 'KVM (test boot passed)'];
        else
            accelNote = kvm ? `TCG (KVM unusable: ${kvm.reason})` : 'TCG unless the KVM test boot passes at run time';
    }
    let kernel = { vmlinuz: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), note: `stock kernel ${kernelPackage}` };
    if (opts.kernel.kind === 'built') {
        const built = await findCachedKernel({ ...opts.kernel, cacheDir: opts.cacheDir });
        kernel = built
            ? { vmlinuz: built.bzImage, initrd: undefined, note: `built kernel ${built.release} (cached: ${built.dir})` }
            : { vmlinuz: '<built-kernel>/bzImage', initrd: undefined, note: 'built kernel, not built yet (numacage kernel build)' };
    }
    const args = buildQemuArgs({
        topology, accel, cpuModel,
        kernel: kernel.vmlinuz, initrd: kernel.initrd,
        cmdline: buildKernelCmdline({ init: opts.init === 'minimal' ? MINIMAL_INIT : undefined, extra: [...topology.cmdline, ...opts.append] }),
        rootDisk: '<run-dir>/root.qcow2', scratchDisks: [], qmpSocket: '<private-dir>/qmp.sock', sshPort: 0,
    });
    const nodes = topology.nodes.map((n) => {
        const backend = n.backend.kind === 'memfd' ? `memfd share=${n.backend.share ? 'on (MAP_SHARED)' : 'off (MAP_PRIVATE)'}` : 'ram';
        return `  node ${n.id}: ${n.memMiB} MiB, ${backend}, cpus ${n.cpus.length ? n.cpus.join(',') : 'none'}`;
    });
    return [
        `topology ${topology.name}: ${topology.description}`,
        ...nodes,
        ...topology.devices.map((d) => `  ${d.kind} on node ${d.node} (pxb-pcie)`),
        `image ${recipe.name}: key ${key} (${cached ? 'cached' : 'not built yet'})`,
        `kernel: ${kernel.note}`,
        `accelerator: ${accelNote}`,
        `init: ${opts.init}`,
        'qemu argv (ssh port chosen at boot):',
        renderCommandLine(QEMU_BINARY, args),
        '',
    ].join('\n');
}
//# sourceMappingURL=plan.js.map