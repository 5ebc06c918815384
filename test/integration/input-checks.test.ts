import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { dir } from 'tmp-promise';
import { projectPath } from '../../src/adapters/project.js';
import { MBIND_WARN, pristineKernelSource, userCache } from '../helpers/cached.js';
import { numacage } from '../helpers/cli.js';

// Every input of run, repro and bisect is checked before the first build, boot or download, and every
// problem is named at once (src/run/preflight.ts). On an empty cache dir a cold image build alone takes
// minutes, so a refusal that comes after one cannot pass the bound below; the figure itself is logged.
const REPRO_C = projectPath('test/fixtures/series/mbind-warn/repro.c');

/** The entries of a cache dir (kind/key, host facts left out) or everything in a run dir: what a refused command must not have made. */
const entries = (cache: string): string[] =>
  readdirSync(cache)
    .filter((k) => k !== 'host')
    .flatMap((k) => [k, ...readdirSync(join(cache, k)).map((e) => `${k}/${e}`)])
    .sort();
const tree = (root: string): string[] => readdirSync(root, { recursive: true }).map(String).sort();

async function refused(t: import('ava').ExecutionContext, args: string[], cache: string, mentions: RegExp[]) {
  const out = await dir({ unsafeCleanup: true });
  const before = entries(cache);
  const started = Date.now();
  const r = await numacage(['--cache-dir', cache, ...args, '--out', out.path]);
  const seconds = (Date.now() - started) / 1000;
  t.log(`${args[0]}: exit ${r.exitCode} in ${seconds.toFixed(2)} s`);
  t.is(r.exitCode, 2, r.all);
  for (const m of mentions) t.regex(r.stderr, m);
  t.notRegex(r.stderr, /internal error/);
  t.true(seconds < 10, `refused after ${seconds} s: something was built first`);
  t.deepEqual(tree(out.path), [], 'no run, repro or bisect dir left');
  t.deepEqual(entries(cache), before, 'nothing built or extracted');
  await out.cleanup();
}

const TYPOS = [
  /--patches private-nod: no such file or folder/,
  /kconfig fragment "debug-mv" not found/,
  /unknown topology "private-virtoi"/,
  /3 problems in the input/,
];

test.serial(
  'a typo in --patches, --kconfig and --topology: run, repro and bisect name all three, exit 2, nothing built',
  async (t) => {
    const cache = await dir({ unsafeCleanup: true });
    const typos = ['--patches', 'private-nod', '--kconfig', 'guest-base', 'debug-mv', '--topology', 'private-virtoi'];
    await refused(t, ['run', ...typos], cache.path, TYPOS);
    await refused(
      t,
      [
        'repro',
        'private-nod',
        '--kconfig',
        'guest-base',
        'debug-mv',
        '--topology',
        'private-virtoi',
        '--reproducer',
        REPRO_C,
      ],
      cache.path,
      [
        /the series private-nod: no such file or folder/,
        /kconfig fragment "debug-mv" not found/,
        /unknown topology "private-virtoi"/,
      ],
    );
    await refused(t, ['bisect', ...typos, '--crash', 'warning: do_mbind', '--reproducer', REPRO_C], cache.path, TYPOS);
    await cache.cleanup();
  },
);

test.serial('a run config naming a missing series and fragment: exit 2 naming both, nothing built', async (t) => {
  const cache = await dir({ unsafeCleanup: true });
  const cfgDir = await dir({ unsafeCleanup: true });
  const config = join(cfgDir.path, 'night.json');
  writeFileSync(
    config,
    JSON.stringify({
      topology: 'three-node',
      kernel: { kind: 'built', patches: './v3.mbox', kconfig: ['guest-base', './extra.config'] },
    }),
  );
  await refused(t, ['run', '--config', config], cache.path, [
    /--patches .*\/v3\.mbox: no such file/,
    /kconfig fragment ".*\/extra\.config" not found/,
  ]);
  await cfgDir.cleanup();
  await cache.cleanup();
});

test.serial(
  'a --kselftest name the kernel source lacks: exit 2 before the kernel or image is built, for the series too',
  async (t) => {
    await pristineKernelSource();
    await refused(
      t,
      ['run', '--kernel', 'stock,built:private-node', '--kselftest', 'mm/ksm_functional_test', '--suite', 'none'],
      userCache,
      [
        /--kselftest mm\/ksm_functional_test: linux-source-6\.12 .* has no ksm_functional_test\.c in tools\/testing\/selftests\/mm/,
      ],
    );
    await refused(
      t,
      ['run', '--patches', MBIND_WARN, '--kselftest', 'mn/ksm_functional_tests', '--suite', 'none'],
      userCache,
      [/\(no such collection\)/],
    );
  },
);

test.serial(
  'a matrix of nothing is refused, not green: an empty --kernel or --topology (an empty CI variable) is exit 2',
  async (t) => {
    const cache = await dir({ unsafeCleanup: true });
    await refused(t, ['run', '--kernel', ''], cache.path, [/--kernel "" names no kernel/]);
    await refused(t, ['run', '--topology', ','], cache.path, [/--topology names no topology/]);
    await cache.cleanup();
  },
);

test('a FIFO or a device where a file is expected is refused at once, never read (topology, run config, patches, kconfig); so is a --markdown in no directory', async (t) => {
  const tmp = await dir({ unsafeCleanup: true });
  const fifo = join(tmp.path, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const cache = await dir({ unsafeCleanup: true });
  await refused(t, ['run', '--topology', fifo], cache.path, [/topology file .*fifo is not a regular file \(a FIFO\)/]);
  await refused(t, ['run', '--config', fifo], cache.path, [/run config .*fifo is not a regular file \(a FIFO\)/]);
  await refused(t, ['run', '--kernel', 'built', '--patches', '/dev/zero'], cache.path, [
    /--patches \/dev\/zero is not a regular file \(a device or socket\)/,
  ]);
  await refused(t, ['run', '--kernel', 'built', '--kconfig', 'guest-base', fifo], cache.path, [
    /--kconfig .*fifo is not a regular file \(a FIFO\)/,
  ]);
  // A Markdown summary is appended after every cell ran: a missing directory is found before the first.
  await refused(
    t,
    [
      'run',
      '--baseline',
      projectPath('test/fixtures/runs/witness/stock.report.json'),
      '--markdown',
      join(tmp.path, 'no', 'x.md'),
    ],
    cache.path,
    [/--markdown .*x\.md: the directory .*no does not exist/],
  );
  await cache.cleanup();
  await tmp.cleanup();
});
