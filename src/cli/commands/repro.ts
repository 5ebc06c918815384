import { DEFAULT_FRAGMENTS } from '../../adapters/kernel-builder.js';
import { reproCommand } from '../../investigate/repro.js';
import { ExitCode } from '../../model/errors.js';
import {
  bootOptions,
  common,
  defineCommand,
  oneExpect,
  parseDuration,
  singleExpectOption,
  splitWords,
  print,
} from '../options.js';

export default defineCommand(
  'repro <series>',
  "reproduce a report: the series' base and the series side by side, a reproducer run on each, the console watched; writes reply.txt for the list (exit 1 when it reproduces with the series)",
  (y) =>
    bootOptions(y)
      .positional('series', {
        type: 'string',
        demandOption: true,
        describe: 'an mbox (git format-patch --stdout, b4 am), a .patch file or a patch folder',
      })
      .option('kernel-src', {
        type: 'string',
        describe: "kernel git tree; the series' base-commit: trailer is honoured (default: Debian's linux-source-6.12)",
      })
      .option('kconfig', {
        type: 'string',
        array: true,
        describe: `kconfig fragments (default: ${DEFAULT_FRAGMENTS.join(' ')}, the kernels of run and bisect, whose stacks decode to file:line; add debug-vm for VM_BUG_ON, DEBUG_LIST, KFENCE)`,
      })
      .option('expect', singleExpectOption)
      .option('reproducer', {
        type: 'string',
        describe: 'FILE.c (built with gcc -static on the host) or a script, uploaded and run as root',
      })
      .option('exec', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'commands to run (after the reproducer, when both are given)',
      })
      .option('repeat', { type: 'number', default: 3, describe: 'runs of the reproducer on each kernel' })
      .option('for', { type: 'string', describe: 'run the reproducer in a loop for this long instead (30s, 5m, 1h)' })
      .option('step-timeout', {
        type: 'number',
        describe: 'seconds each run may take (default 300; with --for, its length + 60)',
      })
      .example(
        '$0 repro series.mbox --reproducer repro.c',
        'a bug report: the series and its base side by side, repro.c run 3 times on each; reply.txt for the list',
      ),
  async (argv) => {
    const { cacheDir, log } = common(argv);
    const r = await reproCommand({
      cacheDir,
      log,
      outDir: argv.out,
      series: argv.series,
      kernelSrc: argv['kernel-src'],
      fragments: argv.kconfig ?? DEFAULT_FRAGMENTS,
      reproducer: argv.reproducer,
      exec: argv.exec,
      repeat: argv.repeat,
      forSeconds: argv.for === undefined ? undefined : parseDuration(argv.for),
      stepTimeoutSeconds: argv['step-timeout'],
      topology: argv.topology,
      image: argv.image,
      accel: argv.accel,
      init: argv.init,
      append: splitWords(argv.append),
      ...oneExpect(argv.expect),
      bootTimeoutSeconds: argv['boot-timeout'],
    });
    print(r.text);
    process.exitCode = r.reproducedOnPatched ? ExitCode.failed : ExitCode.ok;
  },
);
