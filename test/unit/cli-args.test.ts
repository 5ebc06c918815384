import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { runInProcess } from '../helpers/in-process.js';
import { HOSTILE_FLAG_VALUES } from '../helpers/hostile.js';
import { propertyRuns } from '../helpers/property-runs.js';

// The command line as a careless user or a broken CI variable writes it: `numacage plan` (which reads every
// guest option and resolves topology, kernel and checks, and runs nothing) over generated flags, valid and
// hostile values mixed. Each ends as a plan (exit 0) or a refusal numacage explains (exit 2), never an
// internal error (70); nothing it prints can be a CI runner's workflow command.

const cacheDir = mkdtempSync(join(tmpdir(), 'numacage-cli-args-'));
test.after.always(() => rmSync(cacheDir, { recursive: true, force: true }));

const HOSTILE = HOSTILE_FLAG_VALUES;
const oneOf = (...values: string[]) => fc.constantFrom(...values, ...HOSTILE);
const number = fc.oneof(
  fc.constantFrom('0', '1', '30', '2147484', '99999999999', '0.5', 'NaN', '-5', 'abc', ''),
  fc.integer().map(String),
);

const FLAGS: Record<string, fc.Arbitrary<string>> = {
  '--topology': oneOf('private-virtio', 'three-node', 'private-vhost', 'private-virtio,three-node', 'nonexistent'),
  '--kernel': oneOf(
    'stock',
    'built',
    'built:private-node',
    'built:private-node@3',
    'built:private-node@99',
    'stock,built',
  ),
  '--suite': oneOf('isolation', 'device', 'all', 'smoke', 'none'),
  '--only': oneOf('topology', 'abi,no-kernel-memory', 'device-io', 'nope'),
  '--expect': oneOf('vanilla', 'private', 'private-user', 'vanilla,private'),
  '--append': oneOf('private_node=1', 'quiet', 'init=/bin/sh'),
  '--accel': oneOf('tcg', 'kvm', 'auto'),
  '--init': oneOf('minimal', 'systemd'),
  '--kconfig': oneOf('guest-base', 'numa-mm', 'debug-vm', 'no-such-fragment'),
  '--patches': oneOf('private-node', 'private-node@2', 'nonexistent'),
  '--boot-timeout': number,
  '--step-timeout': number,
  '--guests': number,
  '--jobs': number,
  '--format': oneOf('text', 'json'),
  '--bogus': fc.constant('x'),
};

const argvs = fc
  .uniqueArray(fc.constantFrom(...Object.keys(FLAGS)), { maxLength: 6 })
  .chain((flags) => fc.tuple(...flags.map((f) => FLAGS[f]!.map((v) => [f, v]))))
  .map((pairs) => ['plan', '--cache-dir', cacheDir, ...pairs.flat()]);

// Serial: both tests capture process.stdout.
testProp.serial(
  'numacage plan over generated flags: a plan or a refusal with exit 2, never an internal error; no workflow command on stdout',
  [argvs],
  async (t, argv) => {
    const { exitCode, out, message } = await runInProcess(argv);
    t.true([0, 2].includes(exitCode), `${JSON.stringify(argv)} → exit ${exitCode}: ${message}`);
    if (exitCode === 2) t.regex(message, /^numacage: \S/);
    t.false(/^[ \t]*::|##\[/m.test(out + message), out + message);
  },
  propertyRuns(400),
);

test.serial('the generator reaches plans and refusals alike (the property is not vacuous)', async (t) => {
  const ok = await runInProcess(['plan', '--cache-dir', cacheDir, '--topology', 'three-node', '--kernel', 'stock']);
  t.is(ok.exitCode, 0, ok.message);
  t.regex(ok.out, /qemu-system-x86_64/);
  const refused = await runInProcess(['plan', '--cache-dir', cacheDir, '--suite', '__proto__']);
  t.is(refused.exitCode, 2);
  t.regex(refused.message, /--suite __proto__: unknown suite/);
});

test.serial('plan --help offers only what a plan uses: no --out, --keep or an always-on --dry-run', async (t) => {
  const help = await runInProcess(['plan', '--help']);
  t.is(help.exitCode, 0);
  t.regex(help.out, /--topology/);
  t.notRegex(help.out, /--out\b|--keep\b|--dry-run\b/);
});

test.serial(
  "cache, image and kernel take their actions as subcommands: each one's --help has only its options",
  async (t) => {
    const gc = await runInProcess(['cache', 'gc', '--help']);
    t.regex(gc.out, /--max-size/);
    const ls = await runInProcess(['cache', 'ls', '--help']);
    t.notRegex(ls.out, /--max-size|--older-than|--dry-run/);
    t.regex(ls.out, /--format/);
    const none = await runInProcess(['cache']);
    t.is(none.exitCode, 2);
    t.regex(none.message, /name an action: ls, gc or verify/);
    t.regex((await runInProcess(['kernel', 'build', '--help'])).out, /--patches/);
  },
);

test.serial('every command and subcommand has an Examples section in its --help', async (t) => {
  const commands = [
    ...['run', 'merge', 'compare', 'repro', 'bisect', 'doctor', 'plan', 'boot', 'ssh'].map((c) => [c]),
    ...['image', 'kernel', 'cache'].map((c) => [c]),
    ['image', 'build'],
    ['kernel', 'build'],
    ['cache', 'ls'],
    ['cache', 'gc'],
    ['cache', 'verify'],
  ];
  for (const c of commands) {
    const help = await runInProcess([...c, '--help']);
    t.regex(help.out, /^Examples:\n {2}numacage /m, `numacage ${c.join(' ')} --help`);
  }
});
