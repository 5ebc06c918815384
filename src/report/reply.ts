import type { CheckResult, CrashReport, Verdict } from '../model/verdict.js';

export const REPLY_WIDTH = 72;

/** What the reply says about the reproduction; every field comes from the runs. */
export interface ReplyFacts {
  /** The series' patch subjects in order. */
  subjects: string[];
  source: string;
  baseCommit?: { commit: string; honoured: boolean };
  fragments: string[];
  topology: { name: string; nodes: string[] };
  /** The patched run's QEMU command line, as this machine ran it (made portable in the reply). */
  qemu: string[];
  /** The names of the files written next to reply.txt under attachments/. */
  attachments: string[];
  reproducer: { name: string; how: string; text?: string };
  runs: { repeat?: number; forSeconds?: number };
  base: Verdict;
  patched: Verdict;
  /** "Name <email>" for the trailer. */
  who: string;
}

/** Words refilled to width, indent kept on every line. Pure. */
export function wrap(text: string, width = REPLY_WIDTH, indent = ''): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.trim() && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent;
    }
    line += line.trim() ? ` ${word}` : word;
  }
  if (line.trim()) lines.push(line);
  return lines;
}

/** An argv as shell lines of at most width columns, continued with backslashes; an option stays on the line of its value. Pure. */
export function wrapCommand(argv: string[], width = REPLY_WIDTH): string[] {
  const units: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i]!.startsWith('-') && next !== undefined && !next.startsWith('-')) units.push(`${argv[i]} ${argv[++i]}`);
    else units.push(argv[i]!);
  }
  const lines: string[] = [];
  let line = '  ';
  for (const word of units) {
    if (line.trim() && line.length + 1 + word.length + 2 > width) {
      lines.push(`${line} \\`);
      line = '      ';
    }
    line += line.trim() ? ` ${word}` : word;
  }
  lines.push(line);
  return lines;
}

/** The words of a qemu-argv.txt (a shell command line with backslash continuations), quoted ones whole. Pure. */
export const qemuWords = (text: string): string[] => text.replace(/\\\n/g, ' ').match(/'[^']*'|\S+/g) ?? [];

/** Files a reader gets next to reply.txt (attachments/), or builds: what the portable QEMU line names. */
const PORTABLE_FILES = { kernel: 'bzImage', initrd: 'initrd.img', rootfs: 'rootfs.qcow2' } as const;

/**
 * The QEMU command line as a reader on the list can use it: this machine's files named as the reply
 * names them (the kernel built with the attached config, the image's initrd, a root file system), no
 * QMP socket and no host port forwards (the user network keeps restrict=on). Pure.
 */
export function portableQemu(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const next = argv[i + 1];
    if (word === '-qmp' || word === '-monitor') {
      i++;
      continue;
    }
    if ((word === '-kernel' || word === '-initrd') && next !== undefined) {
      out.push(word, word === '-kernel' ? PORTABLE_FILES.kernel : PORTABLE_FILES.initrd);
      i++;
      continue;
    }
    if (word === '-drive' && next !== undefined) {
      out.push(word, next.replace(/(^|,)file=[^,]*/, `$1file=${PORTABLE_FILES.rootfs}`));
      i++;
      continue;
    }
    if (word === '-netdev' && next !== undefined) {
      const opts = next.replace(/^'|'$/g, '').split(',');
      out.push(word, opts.filter((o) => !/^(hostfwd|guestfwd)=/.test(o)).join(','));
      i++;
      continue;
    }
    out.push(word);
  }
  return out;
}

const stepsOf = (v: Verdict): CheckResult[] => v.checks.filter((c) => c.command !== undefined);

/** Did the reproducer reproduce on this kernel: a kernel report, a failed step, or no boot at all. */
export function reproduced(v: Verdict): boolean {
  return (
    v.crashes.length > 0 || !!v.bootFailure || stepsOf(v).some((c) => c.outcome === 'fail' || c.outcome === 'error')
  );
}

function outcomeText(v: Verdict): string[] {
  if (v.bootFailure) return wrap(`The kernel did not boot (${v.bootFailure.reason}): ${v.bootFailure.message}.`);
  const steps = stepsOf(v);
  const failed = steps.filter((c) => c.outcome !== 'pass' && c.outcome !== 'skip');
  const reports = v.crashes;
  if (!reports.length && !failed.length)
    return wrap(`No kernel report in ${steps.length} run(s) of the reproducer; it exited 0 each time.`);
  const first = reports[0];
  const when = first?.during
    ? ` during run ${steps.findIndex((c) => c.id === first.during) + 1} of ${steps.length}`
    : '';
  const out = first
    ? wrap(
        `The kernel reported ${first.title}${when}${reports.length > 1 ? ` (and ${reports.length - 1} more report(s))` : ''}; ${failed.length} of ${steps.length} run(s) of the reproducer failed.`,
      )
    : wrap(
        `No kernel report, but ${failed.length} of ${steps.length} run(s) of the reproducer failed: ${failed[0]!.problems.join('; ')}.`,
      );
  if (first) out.push('', ...quoteReport(first));
  return out;
}

/** The report as the kernel printed it (decoded to file:line when it could be), verbatim: logs are not rewrapped on the list. */
function quoteReport(c: CrashReport): string[] {
  const lines = (c.decoded ?? c.lines).map((l) => l.replace(/^\[\s*\d+\.\d+\]\s?/, ''));
  return [
    ...lines.slice(0, 40).map((l) => `  ${l}`),
    ...(lines.length > 40 ? [`  [... ${lines.length - 40} more lines]`] : []),
    '',
    `  signature: ${c.signature ?? c.title}`,
  ];
}

/** reply.txt: plain text to paste under a quoted series on the list. Pure. */
export function renderReply(f: ReplyFacts): string {
  const onPatched = reproduced(f.patched);
  const onBase = reproduced(f.base);
  const times =
    f.runs.forSeconds !== undefined ? `in a loop for ${f.runs.forSeconds} s` : `${f.runs.repeat ?? 1} time(s)`;
  const verdict =
    onPatched && !onBase
      ? 'The reproducer below triggers a kernel report with this series applied, and not on its base.'
      : onPatched && onBase
        ? 'The reproducer below triggers a kernel report both with this series applied and on its base: the series does not introduce it.'
        : onBase
          ? 'The reproducer below triggers a kernel report on the base, and not with this series applied.'
          : 'The reproducer below runs clean both with this series applied and on its base.';
  const out: string[] = ['Hi,', '', ...wrap(`${verdict} Tested in a QEMU guest with numacage; details follow.`), ''];
  out.push(
    'Tested:',
    ...wrap(
      `base: ${f.source}${f.baseCommit ? ` (base-commit ${f.baseCommit.commit.slice(0, 12)}${f.baseCommit.honoured ? '' : ', not honoured: the source is no git tree'})` : ''}`,
      REPLY_WIDTH,
      '  ',
    ),
  );
  out.push(...wrap(`series: ${f.subjects.length} patch(es):`, REPLY_WIDTH, '  '));
  for (const s of f.subjects) out.push(...wrap(s, REPLY_WIDTH, '    '));
  out.push(...wrap(`config: tinyconfig + ${f.fragments.join(' + ')}`, REPLY_WIDTH, '  '));
  out.push(...wrap(`topology: ${f.topology.name}: ${f.topology.nodes.join('; ')}`, REPLY_WIDTH, '  '));
  out.push(
    ...wrap(
      `qemu (${PORTABLE_FILES.kernel}: the series built with the attached config; ${PORTABLE_FILES.initrd} and ${PORTABLE_FILES.rootfs}: a Debian 12 image, numacage's images/ recipe):`,
      REPLY_WIDTH,
      '  ',
    ),
    ...wrapCommand(portableQemu(f.qemu)),
  );
  if (f.attachments.length) out.push(...wrap(`attached: ${f.attachments.join(', ')}`, REPLY_WIDTH, '  '));
  out.push('', ...wrap(`Reproducer: ${f.reproducer.name} (${f.reproducer.how}), run ${times} on each kernel.`), '');
  out.push(`With the series (${f.patched.kernel.release}):`, ...outcomeText(f.patched), '');
  out.push(`Base (${f.base.kernel.release}):`, ...outcomeText(f.base), '');
  if (f.reproducer.text !== undefined)
    out.push(
      `${f.reproducer.name}:`,
      ...f.reproducer.text
        .replace(/\n$/, '')
        .split('\n')
        .map((l) => `  ${l}`),
      '',
    );
  out.push(onPatched && !onBase ? `Reported-by: ${f.who}` : `Tested-by: ${f.who}`, '');
  return out.join('\n');
}
