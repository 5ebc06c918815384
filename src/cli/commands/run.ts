import { assertAppendable } from '../../adapters/json-file.js';
import { ExitCode, ConfigError } from '../../model/errors.js';
import { parseShard } from '../../matrix/cells.js';
import { runMatrix } from '../../matrix/matrix.js';
import { DEFAULT_TIME_THRESHOLD } from '../../report/regressions.js';
import {
  defineCommand,
  guestOptions,
  kernelChoices,
  kernelOptions,
  runOptionsFrom,
  stepOptions,
  timeThresholdOption,
  print,
} from '../options.js';

export default defineCommand(
  'run',
  'the main job: image, boot, probe, check, report (comma lists in --topology and --kernel run a matrix side by side)',
  (y) =>
    stepOptions(kernelOptions(guestOptions(y)))
      .option('guests', { type: 'number', default: 1, describe: 'guests per (topology, kernel) pair' })
      .option('jobs', { type: 'number', describe: 'guests at once (default: as many as CPUs and memory allow)' })
      .option('shard', {
        type: 'string',
        describe:
          "I/N: run only shard I of N of the matrix cells (a CI engine's matrix runs the N shards; numacage merge joins them)",
      })
      .option('baseline', {
        type: 'string',
        describe:
          'a report (run, matrix or merged directory, or its JSON) to compare this run against at the end; exit 1 on any regression',
      })
      .option('time-threshold', {
        ...timeThresholdOption,
        describe: `with --baseline: ${timeThresholdOption.describe}`,
      })
      .option('markdown', {
        type: 'string',
        describe: 'with --baseline: append the summary as Markdown to this file (e.g. "$GITHUB_STEP_SUMMARY")',
      })
      .example('$0 run', 'the stock kernel on the default topology, every invariant (the vanilla column)')
      .example(
        '$0 run --kernel built,built:private-node --expect vanilla,private --append private_node=1',
        'validate a series: the lean kernel without and with patches/private-node, side by side',
      )
      .example(
        '$0 run --config patches/private-node/private-node.json --kselftest mm:ksm',
        "a run config, plus kselftests built from the kernel's tree",
      )
      .example(
        '$0 run -t private-virtio,three-node --kernel stock,built:private-node --expect vanilla,private --append private_node=1 --shard 1/2 --out shards/1',
        'a nightly CI job: shard 1 of 2 (numacage merge joins the shards)',
      ),
  async (argv) => {
    const base = runOptionsFrom(argv, true);
    if (argv.baseline === undefined && argv.markdown !== undefined)
      throw new ConfigError('--markdown needs --baseline', 'give --baseline REPORT to compare the run with');
    if (argv.markdown !== undefined) assertAppendable(argv.markdown, '--markdown');
    const result = await runMatrix({
      ...base,
      topologies: argv.topology.split(',').filter(Boolean),
      kernels: kernelChoices(argv),
      guests: argv.guests,
      jobs: argv.jobs,
      ...(argv.shard !== undefined ? { shard: parseShard(argv.shard) } : {}),
      ...(argv.baseline !== undefined
        ? {
            baseline: {
              path: argv.baseline,
              threshold: { ...DEFAULT_TIME_THRESHOLD, percent: argv['time-threshold'] },
              ...(argv.markdown !== undefined ? { markdownFile: argv.markdown } : {}),
            },
          }
        : {}),
    });
    print(result.text);
    process.exitCode = result.ok && !result.regressed ? ExitCode.ok : ExitCode.failed;
  },
);
