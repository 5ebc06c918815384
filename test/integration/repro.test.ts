import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { dir } from 'tmp-promise';
import { projectPath } from '../../src/adapters/project.js';
import { numacage, qemuProcessesMentioning } from '../helpers/cli.js';

// The mbind-warn fixture series: patch 3 of 4 adds a WARN_ON_ONCE that repro.c triggers.
const fixture = (f: string) => projectPath('test/fixtures/series/mbind-warn', f);
const onlyDir = (out: string, suffix: string) => {
  const d = readdirSync(out).filter((x) => x.endsWith(suffix));
  if (d.length !== 1) throw new Error(`expected one *${suffix} in ${out}: ${d.join(', ')}`);
  return join(out, d[0]!);
};

test.serial(
  'repro: the warning with the series and not on its base, decoded to file:line, and a reply fit for the list; exit 1',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const started = Date.now();
    const r = await numacage([
      'repro',
      fixture('series.mbox'),
      '--reproducer',
      fixture('repro.c'),
      '--repeat',
      '2',
      '--out',
      out.path,
    ]);
    t.log(`repro wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
    t.is(r.exitCode, 1, r.all);
    t.regex(r.stdout, /reproduces with the series: yes; on the base: no/);
    const repro = onlyDir(out.path, '-repro');
    const result = JSON.parse(readFileSync(join(repro, 'repro.json'), 'utf8'));
    t.true(result.reproducedOnPatched);
    t.false(result.reproducedOnBase);
    const [warning] = result.patched.crashes;
    t.is(warning.during, 'exec-1', 'WARN_ON_ONCE: the first run');
    // kernel_mbind() is inlined into the syscall.
    t.is(warning.signature, 'warning: do_mbind < __x64_sys_mbind');
    t.true(
      warning.decoded.some((l: string) => /RIP: 0010:do_mbind \(mm\/mempolicy\.c:\d+\)/.test(l)),
      warning.decoded.join('\n'),
    );
    t.true(warning.decoded.some((l: string) => /__x64_sys_mbind \(mm\/mempolicy\.c:\d+\)/.test(l)));
    t.deepEqual(result.base.crashes, []);
    const reply = readFileSync(join(repro, 'reply.txt'), 'utf8');
    const prose = reply.replace(/\s+/g, ' ');
    t.regex(prose, /triggers a kernel report with this series applied, and not on its base/);
    t.regex(prose, /\[PATCH 3\/4\] mm\/mempolicy: flag MPOL_MF_STRICT requests for MPOL_PREFERRED/);
    t.regex(reply, /mm\/mempolicy\.c:\d+/);
    t.regex(reply, /repro\.c:\n {2}\/\/ Reproducer for patch 3/);
    t.regex(reply, /\n(Reported-by): .+ <.+>\n$/);
    // The QEMU line can be pasted into a shell: continued with backslashes outside quotes only.
    t.true(
      reply
        .split('\n')
        .filter((l) => l.endsWith(' \\'))
        .every((l) => (l.match(/'/g) ?? []).length % 2 === 0),
    );
    // Portable: the reader's file names, the kernel's config and the reproducer attached next to it.
    t.notRegex(reply, /\/tmp\/|\.cache\/numacage|qmp|hostfwd/);
    t.regex(prose, /-kernel bzImage/);
    t.regex(prose, /attached: config, repro\.c/);
    t.regex(readFileSync(join(repro, 'attachments', 'config'), 'utf8'), /^CONFIG_NUMA=y$/m);
    t.regex(readFileSync(join(repro, 'attachments', 'repro.c'), 'utf8'), /^\/\/ Reproducer for patch 3/);
    t.deepEqual(qemuProcessesMentioning(out.path), []);
    await out.cleanup();
  },
);

test.serial(
  'bisect within the series: patch 3 named in at most log2(4)+1 = 3 builds, with a log and JSON',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const started = Date.now();
    const r = await numacage([
      'bisect',
      '--patches',
      fixture('series.mbox'),
      '--crash',
      'warning: do_mbind',
      '--reproducer',
      fixture('repro.c'),
      '--out',
      out.path,
    ]);
    t.log(`bisect wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
    t.is(r.exitCode, 0, r.all);
    t.regex(r.stdout, /first bad: @3 \[3\/4\] .*mm\/mempolicy: flag MPOL_MF_STRICT requests for MPOL_PREFERRED/);
    const log = JSON.parse(readFileSync(join(onlyDir(out.path, '-bisect'), 'bisect.json'), 'utf8'));
    t.true(log.steps.length <= 3, JSON.stringify(log.steps));
    t.deepEqual(
      log.steps.map((s: { rev: string; bad: boolean }) => `${s.rev} ${s.bad ? 'bad' : 'good'}`),
      ['@4 bad', '@2 good', '@3 bad'],
    );
    t.is(log.firstBad.rev, '@3');
    await out.cleanup();
  },
);
