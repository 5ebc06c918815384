import { DEVICE_KINDS } from '../topology/device-kinds.js';
import { join } from 'node:path';
import { accelFromVerdict, cachedKvmVerdict } from '../adapters/accel.js';
import { ContentStore } from '../adapters/cache-dir.js';
import { imageKey, loadRecipe } from '../adapters/image-builder.js';
import { findCachedKernel } from '../adapters/kernel-builder.js';
import { QEMU_BINARY } from '../adapters/qemu-process.js';
import { inferExpectedProfile } from '../invariants/expectation.js';
import { nodeRoles, type KernelProfile } from '../invariants/profile.js';
import { planRun, type HostFacts, type RunPlan } from '../plan/run-plan.js';
import { renderCommandLine } from '../qemu/reproducer.js';
import { resolveTopology } from './resolve.js';
import { planOptions, type RunOptions } from './run.js';

/** What the caches and the last KVM test say, without building or booting anything. */
async function hostFactsFromCaches(
  opts: Pick<RunOptions, 'cacheDir' | 'image' | 'accel' | 'kernel'>,
): Promise<HostFacts> {
  const recipe = await loadRecipe(opts.image);
  const { key, kernelPackage } = await imageKey(recipe);
  const store = new ContentStore(opts.cacheDir, 'images');
  const imageDir = store.entryPath(key);
  let kernel: HostFacts['kernel'] = {
    kind: 'stock',
    vmlinuz: join(imageDir, 'vmlinuz'),
    initrd: join(imageDir, 'initrd.img'),
    note: `stock kernel ${kernelPackage}`,
  };
  if (opts.kernel.kind === 'built') {
    const built = await findCachedKernel({ ...opts.kernel, cacheDir: opts.cacheDir });
    kernel = built
      ? {
          kind: 'built',
          vmlinuz: built.bzImage,
          note: `built kernel ${built.release} (cached: ${built.dir})`,
          config: built.config,
        }
      : {
          kind: 'built',
          vmlinuz: '<built-kernel>/bzImage',
          note: 'built kernel, not built yet (numacage kernel build)',
        };
  }
  const accel = accelFromVerdict(opts.accel, opts.accel === 'tcg' ? undefined : await cachedKvmVerdict(opts.cacheDir));
  return {
    image: { recipe: recipe.name, key, note: (await store.has(key)) ? 'cached' : 'not built yet' },
    kernel,
    accel,
  };
}

/** The plan of the run these options describe, as `run` would make it (run dir, QMP dir and SSH port left as slots). */
async function planFromOptions(opts: Omit<RunOptions, 'keep' | 'outDir'>): Promise<RunPlan> {
  const recipe = await loadRecipe(opts.image);
  return planRun(
    planOptions(opts, await resolveTopology(opts.topology), recipe.users),
    await hostFactsFromCaches(opts),
  );
}

function renderPlan(plan: RunPlan, declared?: KernelProfile): string {
  const { topology } = plan;
  const p = nodeRoles(topology)?.p;
  const expected = declared
    ? { profile: declared, why: 'declared (--expect)' }
    : p !== undefined
      ? inferExpectedProfile(plan.cmdline, topology, p)
      : undefined;
  const nodes = topology.nodes.map((n) => {
    const backend =
      n.backend.kind === 'memfd' ? `memfd share=${n.backend.share ? 'on (MAP_SHARED)' : 'off (MAP_PRIVATE)'}` : 'ram';
    return `  node ${n.id}: ${n.memMiB} MiB, ${backend}, cpus ${n.cpus.length ? n.cpus.join(',') : 'none'}`;
  });
  return [
    `topology ${topology.name}: ${topology.description}`,
    ...nodes,
    ...topology.devices.map(
      (d) =>
        `  ${d.kind} on node ${d.node} (${DEVICE_KINDS[d.kind].attach === 'pxb' ? 'pxb-pcie' : 'pcie.0, its node written by the guest'})`,
    ),
    `image ${plan.image.recipe}: key ${plan.image.key} (${plan.image.note})`,
    `kernel: ${plan.kernel.note}`,
    `accelerator: ${plan.accel.note}`,
    `init: ${plan.init}; SSH within ${plan.bootTimeoutMs / 1000} s`,
    ...(expected ? [`judged by the ${expected.profile} column (${expected.why})`] : []),
    `checks (${plan.checks.length}): ${plan.checks.join(', ') || 'none'}`,
    ...plan.uploads.map((u) => `upload ${u.local} -> ${u.guest}`),
    ...plan.steps.map((s) => `step ${s.id} as ${s.user}, within ${s.timeoutMs / 1000} s: ${s.command}`),
    'qemu argv ({run-dir}, {qmp-dir} and {ssh-port} are filled in at boot):',
    renderCommandLine(QEMU_BINARY, plan.argv),
    '',
  ].join('\n');
}

/** `numacage plan`: the run as data, as text or JSON; builds and boots nothing. */
export async function planCommand(opts: Omit<RunOptions, 'keep' | 'outDir'>, format: 'text' | 'json'): Promise<string> {
  const plan = await planFromOptions(opts);
  return format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : renderPlan(plan, opts.kernel.expect);
}
