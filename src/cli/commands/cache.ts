import { gcCache, parseDays, parseSize, renderGc } from '../../cache/gc.js';
import { listCache, renderCacheList } from '../../cache/ls.js';
import { verifyCache } from '../../cache/verify.js';
import { ConfigError, ExitCode } from '../../model/errors.js';
import { common, defineCommand, print } from '../options.js';

const format = {
  choices: ['text', 'json'] as const,
  default: 'text' as const,
  describe: 'json prints the entries as data',
};

const ls = defineCommand(
  'ls',
  'entries with kind, size, last use and inputs',
  (y) => y.option('format', format).example('$0 cache ls', 'what the cache holds, with sizes and last use'),
  async (argv) => {
    const listing = await listCache(common(argv).cacheDir);
    print(argv.format === 'json' ? `${JSON.stringify(listing, null, 2)}\n` : renderCacheList(listing));
  },
);

const gc = defineCommand(
  'gc',
  'remove the least recently used entries (never one in use)',
  (y) =>
    y
      .option('max-size', {
        type: 'string',
        describe: 'remove least recently used entries until the cache is at most this (20G, 500M, 1.5GiB, bytes)',
      })
      .option('older-than', {
        type: 'string',
        describe: 'first remove every entry not used for more than this many days',
      })
      .option('dry-run', { type: 'boolean', default: false, describe: 'say what would go, remove nothing' })
      .option('format', format)
      .example('$0 cache gc --max-size 20G --older-than 14', 'trim the cache'),
  async (argv) => {
    const { cacheDir, log } = common(argv);
    if (argv['max-size'] === undefined && argv['older-than'] === undefined)
      throw new ConfigError(
        'cache gc needs --max-size or --older-than',
        'e.g. numacage cache gc --max-size 20G, or --older-than 30',
      );
    const r = await gcCache(cacheDir, {
      log,
      dryRun: argv['dry-run'],
      ...(argv['max-size'] !== undefined ? { maxSizeBytes: parseSize(argv['max-size']) } : {}),
      ...(argv['older-than'] !== undefined ? { olderThanDays: parseDays(argv['older-than']) } : {}),
    });
    print(argv.format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : renderGc(r));
  },
);

const verify = defineCommand(
  'verify',
  'hash every image and kernel against what was recorded when it was built (damaged entries are removed)',
  (y) => y.example('$0 cache verify', 'find and remove damaged entries'),
  async (argv) => {
    const { cacheDir, log } = common(argv);
    const r = await verifyCache(cacheDir, log);
    print(r.text);
    process.exitCode = r.ok ? ExitCode.ok : ExitCode.failed;
  },
);

export default defineCommand(
  'cache',
  'what numacage keeps under its cache dir: ls, gc, verify (each with its own --help)',
  (y) =>
    y
      .command(ls)
      .command(gc)
      .command(verify)
      .demandCommand(1, 'name an action: ls, gc or verify')
      .example('$0 cache ls', 'what the cache holds')
      .example('$0 cache gc --max-size 20G', 'trim it to 20 GiB, least recently used first'),
  () => undefined,
);
