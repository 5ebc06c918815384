/** The run options the boot benches share: one guest on private-virtio, no invariant, a silent log. */
import { resolveCacheDir } from '../src/adapters/cache-dir.js';
import { DEFAULT_FRAGMENTS } from '../src/adapters/kernel-builder.js';
import { silentLogger } from '../src/log.js';
import type { AccelRequest } from '../src/adapters/accel.js';
import type { InitMode } from '../src/plan/run-plan.js';
import type { KernelChoice, RunOptions } from '../src/run/run.js';

export const LEAN_KERNEL: KernelChoice = { kind: 'built', fragments: DEFAULT_FRAGMENTS };

export function oneGuestOptions(
  outDir: string,
  kernel: KernelChoice,
  { init = 'minimal', append = [], accel = 'auto' }: { init?: InitMode; append?: string[]; accel?: AccelRequest } = {},
): RunOptions {
  return {
    cacheDir: resolveCacheDir(),
    outDir,
    topology: 'private-virtio',
    image: 'debian-bookworm',
    accel,
    keep: false,
    init,
    append,
    kernel,
    log: silentLogger(),
    invariants: [],
  };
}
