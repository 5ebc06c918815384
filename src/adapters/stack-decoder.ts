import type { KernelArtifact } from './kernel-builder.js';
import { runCommand } from './runner.js';

/**
 * A console report's lines with each stack frame decoded to file:line by the
 * kernel tree's own scripts/decode_stacktrace.sh (addr2line on the kept
 * vmlinux), or undefined when it cannot (no debug info, binutils missing).
 */
export async function decodeStack(
  lines: string[],
  debug: NonNullable<KernelArtifact['debug']>,
): Promise<string[] | undefined> {
  const r = await runCommand('bash', [debug.decoder, debug.vmlinux, debug.basePath], {
    input: `${lines.join('\n')}\n`,
  });
  if (r.exitCode !== 0) return undefined;
  const decoded = r.stdout.replace(/\n$/, '').split('\n');
  // Only worth keeping when at least one frame got a file:line.
  return decoded.some((l) => /\(\S+:\d+\)/.test(l)) ? decoded : undefined;
}
