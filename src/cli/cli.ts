import yargs, { type Argv } from 'yargs';
import { ExitCode, NumacageError } from '../model/errors.js';
import { inert } from '../report/markup.js';
import { COMMANDS } from './commands/index.js';
import { checkNumbers } from './options.js';

/** A command line yargs or a run config's parser refused: the user's to fix (exit 2). */
class UsageError extends Error {}

/** numacage's command line over args; exitProcess false keeps --help and --version in the process (tests). */
export function buildCli(args: string[], opts: { exitProcess?: boolean } = {}): Argv {
  const cli = yargs(args)
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
    .exitProcess(opts.exitProcess ?? true)
    .fail((msg, err) => {
      // yargs wraps what a config parser throws in a YError: it is still the user's to fix.
      if (err && err.name === 'YError') throw new UsageError(err.message);
      if (err) throw err;
      throw new UsageError(msg);
    });
  for (const command of COMMANDS) cli.command(command);
  return cli;
}

const HOST_FS_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR']);
const isHostFsError = (err: unknown): err is Error & { code: string; path?: string } =>
  err instanceof Error && HOST_FS_CODES.has((err as { code?: string }).code ?? '');

/** The exit code and the message numacage ends with for the error a command threw (inert: it may quote input); 70 is a numacage bug. */
export function failureOf(err: unknown): { exitCode: number; message: string } {
  const { exitCode, message } = failure(err);
  return { exitCode, message: inert(message) };
}

function failure(err: unknown): { exitCode: number; message: string } {
  if (err instanceof NumacageError)
    return {
      exitCode: err.exitCode,
      message: `numacage: ${err.message}\n${err.hint ? `  what to do: ${err.hint}\n` : ''}`,
    };
  // A full or read-only filesystem under a build: the host's to fix, not a numacage bug.
  if (isHostFsError(err))
    return {
      exitCode: ExitCode.infra,
      message: `numacage: ${err.code} on ${err.path ?? 'a file'}: ${err.message}\n  what to do: free space or fix permissions there (or give another --cache-dir / --out), then run again\n`,
    };
  if (err instanceof UsageError)
    return {
      exitCode: ExitCode.config,
      message: `numacage: ${err.message}\n  see: numacage --help${/run config/.test(err.message) ? ' and docs/run-config.md' : ''}\n`,
    };
  return {
    exitCode: 70,
    message: `numacage: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  };
}
