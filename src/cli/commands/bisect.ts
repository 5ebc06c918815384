import { DEFAULT_FRAGMENTS } from '../../adapters/kernel-builder.js';
import { bisectCommand } from '../../investigate/bisect.js';
import { ConfigError, ExitCode } from '../../model/errors.js';
import { DEFAULT_STEP_TIMEOUT_SECONDS } from '../../steps/steps.js';
import { bootOptions, common, defineCommand, oneExpect, singleExpectOption, splitWords, print } from '../options.js';

export default defineCommand(
  'bisect',
  'find the first patch of a series (or the first commit between two revisions) that breaks a check, brings a crash signature, or fails a command',
  (y) =>
    bootOptions(y)
      .option('patches', { type: 'string', describe: 'the series to bisect (prefix builds are cached)' })
      .option('kernel-src', {
        type: 'string',
        describe: "kernel git tree, with --good and --bad: git bisect in numacage's own clone",
      })
      .option('good', { type: 'string', describe: 'with --kernel-src: a revision known good' })
      .option('bad', { type: 'string', describe: 'with --kernel-src: a revision known bad' })
      .option('check', {
        type: 'string',
        describe: 'bad when this invariant does not hold (pass, xfail or skip are good)',
      })
      .option('crash', {
        type: 'string',
        describe: 'bad when a console report\'s signature contains this text (e.g. "warning: do_mbind")',
      })
      .option('exec', {
        type: 'string',
        array: true,
        describe: 'bad when a command fails or the kernel reports anything while it runs',
      })
      .option('expect', singleExpectOption)
      .option('reproducer', { type: 'string', describe: 'FILE.c or a script, run like --exec' })
      .option('runs', {
        type: 'number',
        default: 1,
        describe: 'guests per step, for flaky bugs: a step is bad if any run is',
      })
      .option('kconfig', {
        type: 'string',
        array: true,
        describe: `kconfig fragments (default: ${DEFAULT_FRAGMENTS.join(' ')})`,
      })
      .option('step-timeout', {
        type: 'number',
        default: DEFAULT_STEP_TIMEOUT_SECONDS,
        describe: 'seconds each run of the steps may take',
      })
      .example(
        "$0 bisect --patches series.mbox --crash 'warning: do_mbind' --reproducer repro.c",
        'the first patch of the series that brings the warning',
      )
      .example(
        '$0 bisect --kernel-src ~/linux --good v6.12 --bad HEAD --check bind-optin',
        'the first commit that breaks an invariant',
      ),
  async (argv) => {
    const { cacheDir, log } = common(argv);
    // --exec and --reproducer say what runs; they are the criterion too unless --check or --crash is.
    if (argv.check && argv.crash) throw new ConfigError('numacage bisect takes --check or --crash, not both');
    if (!argv.check && !argv.crash && !argv.exec?.length && !argv.reproducer)
      throw new ConfigError(
        'numacage bisect needs a criterion',
        'give --check ID, --crash SIGNATURE (with --reproducer or --exec to provoke it), or --exec CMD / --reproducer FILE',
      );
    const r = await bisectCommand({
      cacheDir,
      log,
      outDir: argv.out,
      reproducer: argv.reproducer,
      exec: argv.exec ?? [],
      stepTimeoutSeconds: argv['step-timeout'],
      topology: argv.topology,
      image: argv.image,
      accel: argv.accel,
      init: argv.init,
      append: splitWords(argv.append),
      bootTimeoutSeconds: argv['boot-timeout'],
      runs: argv.runs,
      fragments: argv.kconfig ?? DEFAULT_FRAGMENTS,
      patches: argv.patches,
      kernelSrc: argv['kernel-src'],
      good: argv.good,
      bad: argv.bad,
      ...oneExpect(argv.expect),
      criterion: argv.check ? { check: argv.check } : argv.crash ? { crash: argv.crash } : { steps: true },
    });
    print(r.text);
    process.exitCode = r.firstBad ? ExitCode.ok : ExitCode.failed;
  },
);
