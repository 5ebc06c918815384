import { buildCli, failureOf } from '../../src/cli/cli.js';

/**
 * numacage argv run in this process (no node start per case, for property tests): the exit code it would
 * end with (a code a command sets, or its error's), what it printed on stdout, and its closing message.
 * stdout and stderr are captured meanwhile: tests that use it run serially.
 */
export async function runInProcess(argv: string[]): Promise<{ exitCode: number; out: string; message: string }> {
  const [stdout, stderr] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => (
    (out += String(chunk)),
    true
  )) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await buildCli(argv, { exitProcess: false }).parseAsync();
    return { exitCode: Number(process.exitCode ?? 0), out, message: '' };
  } catch (err) {
    return { ...failureOf(err), out };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
    process.exitCode = undefined;
  }
}
