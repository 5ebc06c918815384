import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ConfigError, ExitCode } from '../model/errors.js';
import { SshSession } from './ssh.js';
import { onInterrupt } from '../adapters/cleanup.js';
import { bootGuest } from './boot.js';
import { listGuests, registerGuest } from './registry.js';
import { bootRequest, prepareRun, type RunOptions } from '../run/run.js';
import { BootFailure } from './boot-failure.js';
import { stepUser } from '../steps/steps.js';

/** `numacage boot`: boots a guest, says how to reach it, and keeps it up until Ctrl-C or until it powers off. */
export async function bootGuestCommand(opts: RunOptions): Promise<number> {
  const prepared = await prepareRun(opts);
  let guest;
  try {
    guest = await bootGuest(bootRequest(prepared, opts.log));
  } catch (err) {
    if (!(err instanceof BootFailure)) throw err;
    process.stderr.write(`boot failed (${err.reason}): ${err.message}\n${err.consoleTail.map((l) => `  ${l}`).join('\n')}\n`);
    return ExitCode.failed;
  }
  const id = basename(prepared.runDir);
  const unregister = await registerGuest(opts.cacheDir, {
    id, pid: process.pid, sshPort: guest.sshPort, privateKeyPath: prepared.image.privateKeyPath, hostKey: prepared.image.hostKey,
    runDir: prepared.runDir, startedAt: new Date().toISOString(), users: prepared.image.users,
  });
  onInterrupt(unregister);
  process.stdout.write(
    `guest ${id} is up (SSH after ${guest.bootToSshSeconds.toFixed(1)} s)\n` +
      `  numacage ssh                 a root shell\n` +
      `  numacage ssh -- CMD          one command\n` +
      `  ssh -i ${prepared.image.privateKeyPath} -p ${guest.sshPort} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1\n` +
      `  console: ${prepared.runDir}/console.log\n` +
      `Ctrl-C ends the guest.\n`,
  );
  await guest.qemu.exited;
  await unregister();
  await guest.close({ keep: opts.keep });
  return ExitCode.ok;
}

/** `numacage ssh`: one command (exit code passed through) or an interactive shell. */
export async function sshCommand(opts: { cacheDir: string; guest?: string; as: 'root' | 'user'; command: string }): Promise<number> {
  const guests = await listGuests(opts.cacheDir);
  const rec = opts.guest ? guests.find((g) => g.id === opts.guest) : guests[0];
  if (!rec)
    throw new ConfigError(
      opts.guest ? `no running guest "${opts.guest}" (running: ${guests.map((g) => g.id).join(', ') || 'none'})` : 'no guest is running',
      'start one with `numacage boot` in another terminal',
    );
  const session = await SshSession.open(
    { port: rec.sshPort, user: stepUser(opts.as, rec.users ?? []), privateKey: await readFile(rec.privateKeyPath), hostKey: rec.hostKey },
    10_000,
  );
  try {
    if (opts.command) {
      // Local standard input goes to the command when it is not a terminal (`numacage ssh -- 'cat > f' < f`).
      const input = process.stdin.isTTY ? undefined : await readAll(process.stdin);
      const r = await session.exec(opts.command, 24 * 3600 * 1000, input);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.exitCode ?? ExitCode.failed;
    }
    return await session.shell();
  } finally {
    session.close();
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}
