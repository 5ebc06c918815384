import { mergeCommand } from '../../matrix/merge.js';
import { ExitCode } from '../../model/errors.js';
import { DEFAULT_OUT, defineCommand, print } from '../options.js';

export default defineCommand(
  'merge <dirs..>',
  'join the shards of one matrix (their directories, or directories holding them) into one report: report.json, junit.xml, results.ktap, summary.txt, report.html; exit 2 if a cell is missing or twice',
  (y) =>
    y
      .positional('dirs', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'shard directories (`run --shard I/N --out DIR`), matrix or run directories',
      })
      .option('out', { type: 'string', describe: 'the merged directory (default: runs/<time>-merged)' })
      .example('$0 merge shards/1 shards/2 --out merged', "one night's shards as one report"),
  async (argv) => {
    const r = await mergeCommand(argv.dirs, argv.out, DEFAULT_OUT);
    print(r.text);
    process.exitCode = r.ok ? ExitCode.ok : ExitCode.failed;
  },
);
