/**
 * The careless user's and the attacker's sweep (issue "Trust boundaries"): hostile values through every
 * command that can refuse them without booting a guest or compiling, each a child process as a user would
 * run it, on a throwaway cache. Prints the exit-code table per command and every case that ended in an
 * internal error (70), a timeout, a workflow command on stdout, a file left in --out, a report of no
 * cell merged or compared green, or the recipe hook's file on the host.
 *
 *   node dist/bench/hostile-inputs.js            (432 cases, about 3-6 min on 2 cores)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '../src/adapters/project.js';
import { HOSTILE_FLAG_VALUES } from '../test/helpers/hostile.js';

const work = mkdtempSync(join(tmpdir(), 'numacage-hostile-'));
const w = (name: string) => join(work, name);
const cache = w('cache');
const out = w('out');
const pwned = w('pwned');
mkdirSync(cache);
mkdirSync(out);
spawnSync('mkfifo', [w('fifo')]);

const recorded = (f: string) => JSON.parse(spawnSync('cat', [projectPath('test/fixtures', f)]).stdout.toString());
const write = (name: string, data: unknown) => {
  writeFileSync(w(name), typeof data === 'string' ? data : JSON.stringify(data));
  return w(name);
};
write('empty.json', '');
write('notjson.json', '{');
write('array.json', []);
write('deep.json', '['.repeat(20000) + ']'.repeat(20000));
write('proto.json', '{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}');
write('notpatch.patch', 'hello\n');
write('empty.mbox', '');
write('evil-recipe.json', {
  name: 'evil',
  suite: 'bookworm',
  mirrors: [`--setup-hook=touch ${pwned}`],
  packages: ['systemd-sysv', 'openssh-server', 'numactl', 'iproute2', 'procps'],
});
write('evil-config.json', { topology: 'private-virtio', image: w('evil-recipe.json'), kernel: { kind: 'stock' } });
write('topo-no-nodes.json', { name: 'x', nodes: [] });
write('topo-evil.json', {
  name: '<script>x</script>',
  nodes: [{ id: 0, memMiB: 1024, cpus: [0], backend: 'memfd', share: false }],
  distances: [{ from: 0, to: 0, value: '::set-output name=x::y' }],
});

// Reports: a run's verdict with hostile strings; matrices naming run dirs outside, through a link, missing.
const verdict = recorded('runs/witness/stock.report.json');
const evil = '<script>alert(1)</script> ::set-output name=promote::true ##[error]x ../../etc';
const poisoned = JSON.parse(
  JSON.stringify(verdict, (k, v) => (typeof v === 'string' && !['outcome', 'expected', 'kind'].includes(k) ? evil : v)),
);
const reportDir = (name: string, doc: unknown) => {
  mkdirSync(w(name), { recursive: true });
  writeFileSync(join(w(name), name.startsWith('m-') ? 'matrix.json' : 'report.json'), JSON.stringify(doc));
  return w(name);
};
const matrix = (runDir: string) => ({
  kind: 'numacage-matrix',
  ok: true,
  cells: ['c'],
  runs: [{ cell: 'c', runDir, ok: true, verdict }],
});
mkdirSync(w('m-link'), { recursive: true });
symlinkSync('/etc', w('m-link/runs'));
const reports = [
  reportDir('r-ok', verdict),
  reportDir('r-poisoned', poisoned),
  reportDir('m-abs', matrix('/etc')),
  reportDir('m-up', matrix('../../..')),
  reportDir('m-dotdot', matrix('..')),
  reportDir('m-missing', matrix('runs/nowhere')),
  reportDir('m-link', matrix('runs')),
  reportDir('m-empty', { kind: 'numacage-matrix', ok: true, cells: [], runs: [] }),
  reportDir('r-notjson', '{'),
  reportDir('r-array', []),
  w('deep.json'),
  w('fifo'),
  '/dev/zero',
  '/nonexistent',
];

// A cache with damaged entries and a stale guest record.
mkdirSync(join(cache, 'kernels', '0123456789abcdef0123'), { recursive: true });
writeFileSync(join(cache, 'kernels', '0123456789abcdef0123', 'meta.json'), '{"patches":{"a":1},"files":7}');
mkdirSync(join(cache, 'images', 'fedcba9876543210fedc'), { recursive: true });
writeFileSync(join(cache, 'images', 'fedcba9876543210fedc', 'meta.json'), '{"recipe":');
mkdirSync(join(cache, 'guests'), { recursive: true });
writeFileSync(join(cache, 'guests', '999999.json'), '{"pid":999999,"sshPort":"x"');

const HOSTILE_VALUES = [...HOSTILE_FLAG_VALUES, w('fifo'), '0', '2147484'];
const GUEST_FLAGS = [
  '--topology',
  '--kernel',
  '--suite',
  '--only',
  '--expect',
  '--append',
  '--accel',
  '--init',
  '--kconfig',
  '--patches',
  '--boot-timeout',
  '--step-timeout',
  '--guests',
  '--jobs',
  '--config',
  '--image',
];

const cases: string[][] = [];
for (const flag of GUEST_FLAGS) for (const v of HOSTILE_VALUES) cases.push(['plan', flag, v]);
for (const v of ['', ',', ' ,', w('fifo'), '/dev/zero', w('notjson.json'), w('topo-no-nodes.json')])
  cases.push(['run', '--topology', v, '--out', out]);
for (const v of ['', ',', 'built:', 'built:__proto__', 'stock,,stock'])
  cases.push(['run', '--kernel', v, '--out', out]);
for (const v of [w('fifo'), '/dev/zero', w('notjson.json'), w('array.json'), w('proto.json'), w('evil-config.json')])
  cases.push(['run', '--config', v, '--out', out]);
cases.push(
  ['run', '--boot-timeout', 'NaN', '--out', out],
  ['run', '--markdown', w('nodir/x.md'), '--baseline', w('r-ok'), '--out', out],
);
cases.push(['plan', '--topology', w('topo-evil.json')], ['plan', '--config', w('evil-config.json')]);
for (const r of reports) {
  cases.push(['merge', r, '--out', join(out, 'merged')]);
  cases.push(['compare', r, w('r-ok'), '--markdown', '/dev/null']);
  cases.push(['compare', r, '--by', 'kernel']);
}
cases.push(
  ['merge', w('m-empty'), w('m-empty'), '--out', join(out, 'merged')],
  ['compare', '--markdown', w('nodir/x.md'), w('r-ok'), w('r-ok')],
);
for (const a of [
  ['ls'],
  ['ls', '--format', 'json'],
  ['verify'],
  ['gc', '--max-size', '1', '--dry-run'],
  ['gc', '--older-than', 'NaN'],
  ['gc', '--max-size', '-5'],
])
  cases.push(['cache', ...a]);
cases.push(['ssh'], ['ssh', '--user', '::x'], ['ssh', '--', 'true']);
for (const r of [w('evil-recipe.json'), w('fifo'), '/dev/zero', w('notjson.json'), w('proto.json')])
  cases.push(['image', 'build', '--recipe', r]);
for (const a of [
  ['--patches', '/dev/zero'],
  ['--patches', w('fifo')],
  ['--patches', w('notpatch.patch')],
  ['--patches', w('empty.mbox')],
  ['--patches', 'private-node@0'],
  ['--kconfig', '/etc'],
  ['--kconfig', w('fifo')],
  ['--kernel-src', '/nonexistent'],
])
  cases.push(['kernel', 'build', ...a]);
for (const a of [
  ['/nonexistent.mbox'],
  [w('empty.mbox')],
  [w('fifo')],
  [w('notpatch.patch')],
  ['private-node', '--for', '1e12'],
  ['private-node', '--repeat', '-1'],
])
  cases.push(['repro', ...a, '--out', out]);
cases.push(
  ['bisect', '--out', out],
  ['bisect', '--patches', '/nonexistent', '--out', out],
  ['bisect', '--good', 'x', '--out', out],
);
for (const c of [
  'run',
  'merge',
  'compare',
  'repro',
  'bisect',
  'doctor',
  'image',
  'kernel',
  'plan',
  'boot',
  'ssh',
  'cache',
])
  cases.push([c, '--help']);
cases.push([], ['nonsense'], ['doctor']);

const WORKFLOW = /^[ \t]*::|##\[/m;
const table = new Map<string, Map<string, number>>();
const findings: string[] = [];
const started = Date.now();
for (const args of cases) {
  const r = spawnSync('node', [projectPath('dist/src/cli/main.js'), ...args], {
    env: { ...process.env, NUMACAGE_CACHE: cache },
    timeout: 60_000,
    encoding: 'utf8',
    input: '',
  });
  const code = r.error ? 'timeout' : r.signal ? `signal ${r.signal}` : String(r.status);
  const command =
    args[0] === 'cache' || args[0] === 'image' || args[0] === 'kernel'
      ? args.slice(0, 2).join(' ')
      : (args[0] ?? '(none)');
  const row = table.get(command) ?? new Map<string, number>();
  table.set(command, row.set(code, (row.get(code) ?? 0) + 1));
  const what = `numacage ${args.map((a) => JSON.stringify(a)).join(' ')}`;
  if (code === '70' || code === 'timeout' || code.startsWith('signal'))
    findings.push(`${code}: ${what}\n    ${(r.stderr ?? '').split('\n').slice(0, 3).join('\n    ')}`);
  if (code === '0' && args.some((a) => a.includes('m-empty'))) findings.push(`green on no cell: ${what}`);
  if (WORKFLOW.test(r.stdout ?? '')) findings.push(`workflow command on stdout: ${what}`);
  const left = readdirSync(out).filter((f) => f !== 'merged');
  if (left.length) findings.push(`left in --out: ${left.join(', ')} after ${what}`);
  for (const f of left) rmSync(join(out, f), { recursive: true, force: true });
  rmSync(join(out, 'merged'), { recursive: true, force: true });
  if (existsSync(pwned)) findings.push(`the recipe's hook ran on the host: ${what}`);
}
const codes = [...new Set([...table.values()].flatMap((r) => [...r.keys()]))].sort();
console.log(`${cases.length} cases in ${Math.round((Date.now() - started) / 1000)} s\n`);
console.log(['command', ...codes.map((c) => `exit ${c}`)].join('\t'));
for (const [command, row] of [...table].sort()) console.log([command, ...codes.map((c) => row.get(c) ?? 0)].join('\t'));
console.log(findings.length ? `\n${findings.length} finding(s):\n${findings.join('\n')}` : '\nno finding');
rmSync(work, { recursive: true, force: true });
process.exitCode = findings.length ? 1 : 0;
