import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { execa, type Options } from 'execa';
import { InfraError, InterruptedError } from '../model/errors.js';
import { cancellable, trackChild } from './cancel.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs a command (argv array, never a shell string) and returns its output
 * whatever the exit code. The command's cancellation (SIGINT, SIGTERM) kills it.
 */
export async function runCommand(cmd: string, args: string[], opts: Options = {}): Promise<RunResult> {
  try {
    const child = execa(cmd, args, {
      reject: false,
      ...cancellable(),
      ...(opts.input === undefined ? { stdin: 'ignore' as const } : {}),
      ...opts,
    });
    trackChild(child);
    const r = await child;
    if (r.isCanceled) throw new InterruptedError(`${cmd} was stopped: numacage was interrupted`);
    if (r.failed && r.exitCode === undefined && !r.isTerminated) {
      const code = (r as { code?: string }).code;
      if (code === 'ENOENT') throw missingTool(cmd);
      throw new InfraError(`could not run ${cmd}: ${r.message}`);
    }
    return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1 };
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw missingTool(cmd);
    throw err;
  }
}

/** Like runCommand, but a non-zero exit is an InfraError quoting the tail of stderr. */
export async function runChecked(cmd: string, args: string[], opts: Options = {}): Promise<RunResult> {
  const r = await runCommand(cmd, args, opts);
  if (r.exitCode !== 0) {
    const tail = (r.stderr || r.stdout).trim().split('\n').slice(-15).join('\n');
    throw new InfraError(
      `${cmd} ${args.slice(0, 3).join(' ')}… exited with ${r.exitCode}:\n${tail}`,
      diskFullHint(tail),
    );
  }
  return r;
}

/** Runs a command that must succeed and returns its standard output as bytes (tar to stdout, say). */
export async function outputBytes(cmd: string, args: string[]): Promise<Buffer> {
  const child = execa(cmd, args, { reject: false, stdin: 'ignore', encoding: 'buffer', ...cancellable() });
  trackChild(child);
  const r = await child;
  if (r.isCanceled) throw new InterruptedError(`${cmd} was stopped: numacage was interrupted`);
  if ((r as { code?: string }).code === 'ENOENT') throw missingTool(cmd);
  if (r.exitCode !== 0)
    throw new InfraError(
      `${cmd} ${args.slice(0, 3).join(' ')}… exited with ${r.exitCode}:\n${Buffer.from(r.stderr).toString().trim().split('\n').slice(-15).join('\n')}`,
    );
  return Buffer.from(r.stdout);
}

/** What to do when a tool's output says the disk is full (a build, an extraction, mmdebstrap). */
export function diskFullHint(output: string): string | undefined {
  return /No space left on device|Disk quota exceeded|enough free space/.test(output)
    ? 'a filesystem is full (see the path above): free space there, or give numacage a --cache-dir on a larger one; the cache holds no half entry, so the next run starts clean'
    : undefined;
}

function missingTool(cmd: string): InfraError {
  return new InfraError(
    `${cmd} is not installed`,
    'run `numacage doctor --install` (as root) to install the host packages',
  );
}

/** The full path of an executable, as the shell would find it, or undefined. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates =
    isAbsolute(name) || name.includes('/')
      ? [name]
      : path
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** Whether a process with this pid exists (signal 0); one of another user (EPERM) does too. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}
