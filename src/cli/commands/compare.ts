import { assertAppendable } from '../../adapters/json-file.js';
import { compareCommand } from '../../matrix/compare.js';
import { ExitCode } from '../../model/errors.js';
import { DEFAULT_TIME_THRESHOLD } from '../../report/regressions.js';
import { defineCommand, timeThresholdOption, print } from '../options.js';

export default defineCommand(
  'compare <reports..>',
  'regressions from a baseline to a new report, cell by cell and check by check (exit 1 on any); or the kernels of one matrix side by side (--by kernel)',
  (y) =>
    y
      .positional('reports', {
        type: 'string',
        array: true,
        demandOption: true,
        describe:
          'BASELINE NEW: run, matrix or merged directories, or their report.json / matrix.json; or one matrix directory with --by kernel',
      })
      .option('by', {
        choices: ['kernel'] as const,
        describe: 'compare the kernels of one matrix directory, per topology',
      })
      .option('markdown', {
        type: 'string',
        describe: 'append the summary as Markdown to this file (e.g. "$GITHUB_STEP_SUMMARY")',
      })
      .option('html', {
        type: 'string',
        describe: 'write the new report with its regressions as tables to this HTML file',
      })
      .option('time-threshold', timeThresholdOption)
      .example(
        '$0 compare last-good merged --markdown summary.md --html compare.html',
        'regressions since the baseline night (exit 1 on any), for the job summary and as a page',
      )
      .example('$0 compare runs/20261202-120000-matrix --by kernel', 'the kernels of one matrix side by side'),
  async (argv) => {
    if (argv.markdown !== undefined) assertAppendable(argv.markdown, '--markdown');
    if (argv.html !== undefined) assertAppendable(argv.html, '--html');
    const r = await compareCommand(argv.reports, {
      by: argv.by,
      markdownFile: argv.markdown,
      htmlFile: argv.html,
      timeThreshold: { ...DEFAULT_TIME_THRESHOLD, percent: argv['time-threshold'] },
    });
    print(r.text);
    process.exitCode = r.regressed ? ExitCode.failed : ExitCode.ok;
  },
);
