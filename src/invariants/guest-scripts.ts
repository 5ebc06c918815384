import type { GuestStep } from './guest-step.js';
import { shellQuote } from './shell.js';

/** The text of a file of guest/scripts/ by name: the run layer reads them from the project. */
export type ScriptReader = (file: string) => string;

/** Defines the functions every script may call; sent first. */
const LIB = 'lib.sh';

/** A call of one of lib.sh's functions that run the static probe. */
const PROBE_CALL =
  /(^|[^\w-])(run_probe|exec_probe|exec_probe_as_user|probe_as_user|probe_as_root|in_cgroup)($|[^\w-])/m;

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/** The files a script names on its "# needs: a.sh b.sh" lines, besides lib.sh. */
const partsNeeded = (text: string) => [...text.matchAll(/^# needs: (.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));

/** The step's script and the parts it needs, each file's text as it is (lib.sh aside). */
function ownTexts(step: GuestStep, read: ScriptReader): string[] {
  const script = read(step.script);
  return [...partsNeeded(script).map(read), script];
}

/** What bash runs: lib.sh, the parts the script needs, then the script, each file's bytes as they are. */
export function stepProgram(step: GuestStep, read: ScriptReader): string {
  return [read(LIB), ...ownTexts(step, read)].map((t) => (t.endsWith('\n') ? t : `${t}\n`)).join('');
}

/**
 * The command sent to the guest: a first line that exports the step's
 * variables, names the shell after the step (its messages then say which
 * step) and pins it to `cpus` when given (children included), then the
 * program, its files' bytes as they are. sshd hands the command to root's
 * login shell, bash (Debian's base-passwd), as `bash -c`: nothing else is
 * started for it. Under TCG each program started costs about 55 ms of guest
 * CPU, and `env VAR=... taskset bash -c` started three (bench/step-overhead.ts).
 */
export function guestCommand(step: GuestStep, read: ScriptReader, cpus: number[] = []): string {
  const env = Object.entries(step.env ?? {}).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new Error(`step ${step.name}: environment variable ${name} is not UPPERCASE`);
    return `${name}=${shellQuote(String(value))}`;
  });
  const header = [
    ...(env.length ? [`export ${env.join(' ')}`] : []),
    `BASH_ARGV0=${shellQuote(step.name)}`,
    ...(cpus.length ? [`taskset -pc ${cpus.join(',')} $$ > /dev/null || exit`] : []),
  ].join('; ');
  return `${header}\n${stepProgram(step, read)}`;
}

/** Whether the step's script, or a part it needs, calls one of lib.sh's probe runners (comment lines aside). */
export function runsProbe(step: GuestStep, read: ScriptReader): boolean {
  const code = ownTexts(step, read)
    .join('\n')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
  return PROBE_CALL.test(code);
}
