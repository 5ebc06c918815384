#!/usr/bin/env node
import { hideBin } from 'yargs/helpers';
import { childrenGone, withCancellation } from '../adapters/cancel.js';
import { runInterruptCleanups } from '../adapters/cleanup.js';
import { ExitCode } from '../model/errors.js';
import { buildCli, failureOf } from './cli.js';

async function main(): Promise<void> {
  await buildCli(hideBin(process.argv)).parseAsync();
}

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
    const { exitCode, message } = failureOf(err);
    process.stderr.write(message);
    process.exitCode = exitCode;
  },
);
