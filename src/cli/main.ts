#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { childrenGone, withCancellation } from '../adapters/cancel.js';
import { runInterruptCleanups } from '../adapters/cleanup.js';
import { ExitCode, NumacageError } from '../model/errors.js';
import { COMMANDS } from './commands/index.js';
import { inert } from '../report/markup.js';
import { checkNumbers } from './options.js';

async function main(): Promise<void> {
  const cli = yargs(hideBin(process.argv))
    .scriptName('numacage')
    .usage('$0 <command> [options]\n\nBuild, boot and probe kernels in QEMU guests with declared NUMA topologies.')
    .option('cache-dir', { type: 'string', describe: 'cache root (default $NUMACAGE_CACHE or ~/.cache/numacage)' })
    .option('json', {
      type: 'boolean',
      describe: 'log pino JSON lines on stderr instead of readable lines (for a program to read)',
    })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'debug logging' })
    .middleware(checkNumbers)
    .demandCommand(
      1,
      'name a command: run, merge, compare, repro, bisect, doctor, image build, kernel build, plan, boot, ssh, cache ls|gc|verify',
    )
    .strict()
    .help()
    .fail((msg, err) => {
      // yargs wraps what a config parser throws in a YError: it is still the user's to fix.
      if (err && err.name === 'YError') throw new UsageError(err.message);
      if (err) throw err;
      throw new UsageError(msg);
    });
  for (const command of COMMANDS) cli.command(command);
  await cli.parseAsync();
}

class UsageError extends Error {}

const HOST_FS_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR']);
const isHostFsError = (err: unknown): err is Error & { code: string; path?: string } =>
  err instanceof Error && HOST_FS_CODES.has((err as { code?: string }).code ?? '');

// The command's cancellation scope: a signal aborts it, which kills every tool it started (SIGTERM, then SIGKILL);
// once they are gone the cleanups remove what they were writing and stop the guests.
const command = new AbortController();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`numacage: ${signal}, stopping guests and cleaning up\n`);
    command.abort(signal);
    void childrenGone()
      .then(runInterruptCleanups)
      .finally(() => process.exit(signal === 'SIGINT' ? ExitCode.interrupted : 143));
  });
}

withCancellation(command.signal, main).then(
  () => undefined,
  async (err: unknown) => {
    // After a signal the error is the interrupted tool's: the signal handler ends the process.
    if (interrupted) return;
    await runInterruptCleanups();
    if (err instanceof NumacageError) {
      process.stderr.write(inert(`numacage: ${err.message}\n${err.hint ? `  what to do: ${err.hint}\n` : ''}`));
      process.exitCode = err.exitCode;
    } else if (isHostFsError(err)) {
      // A full or read-only filesystem under a build: the host's to fix, not a numacage bug.
      process.stderr.write(
        `numacage: ${err.code} on ${err.path ?? 'a file'}: ${err.message}\n  what to do: free space or fix permissions there (or give another --cache-dir / --out), then run again\n`,
      );
      process.exitCode = ExitCode.infra;
    } else if (err instanceof UsageError) {
      process.stderr.write(
        `numacage: ${err.message}\n  see: numacage --help${/run config/.test(err.message) ? ' and docs/run-config.md' : ''}\n`,
      );
      process.exitCode = ExitCode.config;
    } else {
      process.stderr.write(
        `numacage: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 70;
    }
  },
);
