import { openCache } from '../../cache/sweep.js';
import { DEFAULT_FRAGMENTS, ensureKernel } from '../../adapters/kernel-builder.js';
import { common, defineCommand, kernelOptions, print } from '../options.js';

const build = defineCommand(
  'build',
  'build a kernel from source with patches and kconfig fragments (cached by content)',
  (y) =>
    kernelOptions(y)
      .option('rebuild', {
        type: 'boolean',
        default: false,
        describe: 'build again even when cached',
      })
      .example(
        '$0 kernel build --patches private-node --kconfig guest-base numa-mm debug-vm',
        'build (or find in the cache) a debug kernel with the series',
      ),
  async (argv) => {
    const { cacheDir, log } = common(argv);
    await openCache(cacheDir, log);
    const k = await ensureKernel({
      cacheDir,
      log,
      kernelSrc: argv['kernel-src'],
      patches: argv.patches,
      fragments: argv.kconfig ?? DEFAULT_FRAGMENTS,
      rebuild: argv.rebuild,
    });
    print(
      `${k.dir}\n  ${k.release}, ${k.cached ? 'cached' : `built in ${k.buildSeconds} s`}; ${k.source}${k.patches.length ? `; ${k.patches.length} patch(es)` : ''}\n`,
    );
  },
);

export default defineCommand(
  'kernel',
  'guest kernels: build (with its own --help)',
  (y) =>
    y
      .command(build)
      .demandCommand(1, 'name an action: build')
      .example(
        '$0 kernel build --patches private-node',
        'build (or find in the cache) the lean kernel with the series',
      ),
  () => undefined,
);
