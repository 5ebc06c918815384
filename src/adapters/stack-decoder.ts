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
  const decoded = r.stdout.replace(/\n$/, '').split('\n').map(sourceRelative);
  // Only worth keeping when at least one frame got a file:line.
  return decoded.some((l) => /\(\S+:\d+\)/.test(l)) ? decoded : undefined;
}

/**
 * A decoded frame's file named from the top of the kernel tree. decode_stacktrace.sh strips this
 * build's own source path as `<build dir>/../src`, but an object may name another: one that ccache
 * took from another build names that build's (<cache>/kernel-work/<tree>/build-<key>/../src/...),
 * and ccache's depend mode compiles with the source's absolute path (<cache>/kernel-work/<tree>/src/...). An inlined
 * frame names two places. Pure.
 */
export const sourceRelative = (line: string): string =>
  line.replace(/(?<=[(\s])\/\S*?\/(?:\.\.|kernel-work\/[^/\s]+)\/src\//g, '');
