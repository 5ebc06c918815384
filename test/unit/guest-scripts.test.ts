import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { readGuestScript } from '../../src/adapters/guest-scripts.js';
import { projectPath } from '../../src/adapters/project.js';
import { guestCommand, stepProgram } from '../../src/invariants/guest-scripts.js';
import { KERNEL_STATE_STEP } from '../../src/invariants/kernel-state.js';
import { INVARIANTS } from '../../src/invariants/registry.js';
import { GUEST_PROBE_PATH } from '../../src/invariants/shell.js';
import { isHostStep, usesProbe, type GuestStep, type ProbeContext } from '../../src/invariants/spec.js';
import { contextOf, hotplugContext, seriesTopologyContext } from '../helpers/recorded.js';

/** A vanilla kernel, one with HMAT (the demotion-pressure step), a private one and a private-user one. */
const FIXTURES = [
  'stock-6.12-private-virtio',
  'stock-6.12-hmat-tiered',
  'patched-6.12-private',
  'patched-6.12-private-user',
];

/**
 * The invariants whose steps ran the probe on each fixture's context before the scripts moved to
 * guest/scripts/, by the old test (the script text held /usr/local/bin/numacage-probe), as commit
 * 02994a7 computed it; the not-applicable ones (thp, ksm, numa-balancing, bind-strict on a private
 * kernel) run no step at all. Since then: home-node, bind-spill and cpuset-private (series v2's
 * review), whose scripts run it through in_cgroup or fill.sh, hugetlb-user and longterm-pin (probe_as_user),
 * damon-migrate (run_probe; n/a under ,user), hugetlb-surplus-spared (probe_as_user; ,user only),
 * ksm-cross and ksm-rmap (exec_probe_as_user in ksm-step.sh, which they need; n/a without ,user),
 * zpool-user (in_cgroup and probe_as_user; n/a without ,user).
 */
const ALL_PROBE_USERS = [
  'no-kernel-memory',
  'soft-policy',
  'bind-optin',
  'move-optin',
  'migrate-optin',
  'cpuset',
  'home-node',
  'thp',
  'longterm-pin',
  'ksm',
  'ksm-cross',
  'ksm-rmap',
  'numa-balancing',
  'compaction',
  'damon-migrate',
  'hugetlb-user',
  'bind-strict',
  'bind-spill',
  'zpool-user',
  'no-fallback-in',
  'cpuset-private',
];
const PROBE_USERS_BEFORE: Record<string, string[]> = {
  'stock-6.12-private-virtio': ALL_PROBE_USERS,
  'stock-6.12-hmat-tiered': [...ALL_PROBE_USERS.slice(0, -5), 'demotion', ...ALL_PROBE_USERS.slice(-5)],
  'patched-6.12-private': ALL_PROBE_USERS.filter(
    (id) =>
      ![
        'thp',
        'longterm-pin',
        'ksm',
        'ksm-cross',
        'ksm-rmap',
        'numa-balancing',
        'hugetlb-user',
        'bind-strict',
        'bind-spill',
        'zpool-user',
      ].includes(id),
  ),
  // hugetlb-surplus-spared (0033's probe) is n/a but under ,user.
  'patched-6.12-private-user': ALL_PROBE_USERS.filter((id) => id !== 'damon-migrate').flatMap((id) =>
    id === 'hugetlb-user' ? [id, 'hugetlb-surplus-spared'] : [id],
  ),
};

/** Variables bash sets itself, which a script may read without numacage giving them. */
const SHELL_VARIABLES = ['BASHPID', 'SECONDS'];

/**
 * What the guest's login shell, bash, has set once the command's lines
 * before the step's program have run: the step's variables as a child
 * sees them, $0, and the CPUs it may run on. Run by the host's bash, which
 * is Debian 12's too.
 */
function beforeProgram(command: string, program: string): { env: Record<string, string>; name: string; cpus: string } {
  const header = command.slice(0, command.length - program.length);
  const out = execFileSync('bash', ['-c', `${header}env -0; printf '%s\\0' "$0"; taskset -pc $$`], {
    encoding: 'utf8',
  }).split('\0');
  const cpus = out.pop()!.replace(/.*: /, '').trim();
  const name = out.pop()!;
  const env = out.filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]);
  return { env: Object.fromEntries(env), name, cpus };
}

const HOST_CPUS = beforeProgram('', '').cpus;

/** The UPPERCASE variables a program reads, comment lines aside. */
function variablesRead(program: string): string[] {
  const code = program
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
  const names = [...code.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!);
  return [...new Set(names)].filter((n) => !SHELL_VARIABLES.includes(n)).sort();
}

/** The guest steps a run sends on this context (a check the topology cannot test sends none). */
const guestSteps = (ctx: ProbeContext): GuestStep[] => [
  KERNEL_STATE_STEP,
  ...INVARIANTS.filter((spec) => !spec.unsupported?.(ctx.topology, ctx.roles)).flatMap((spec) =>
    spec.steps(ctx).filter((s): s is GuestStep => !isHostStep(s)),
  ),
];

for (const dir of FIXTURES) {
  test(`${dir}: every guest step sends its script's bytes after a line that sets every variable it reads`, (t) => {
    const ctx = contextOf(dir);
    for (const step of guestSteps(ctx)) {
      t.true(existsSync(projectPath('guest', 'scripts', step.script)), `${step.name}: ${step.script} exists`);
      const program = stepProgram(step, readGuestScript);
      const command = guestCommand(step, readGuestScript, [0]);
      t.true(command.endsWith(`\n${program}`), `${step.name}: the program follows the first line`);
      const set = beforeProgram(command, program);
      for (const [k, v] of Object.entries(step.env ?? {})) t.is(set.env[k], String(v), `${step.name}: ${k}`);
      t.is(set.name, step.name);
      t.is(set.cpus, '0', `${step.name}: pinned`);
      t.true(program.startsWith(readGuestScript('lib.sh')), `${step.name}: lib.sh first`);
      t.true(program.endsWith(readGuestScript(step.script)), `${step.name}: its script verbatim, last`);
      t.deepEqual(variablesRead(program), Object.keys(step.env ?? {}).sort(), `${step.name}: the variables it reads`);
    }
  });

  test(`${dir}: the invariants that use the probe are the ones whose scripts called it before`, (t) => {
    const ctx = contextOf(dir);
    t.deepEqual(
      INVARIANTS.filter((s) => usesProbe(s, ctx, readGuestScript)).map((s) => s.id),
      PROBE_USERS_BEFORE[dir],
    );
  });
}

test('no pinning, no variables: the first line names the shell alone, and the program follows', (t) => {
  const command = guestCommand(KERNEL_STATE_STEP, readGuestScript);
  t.is(command, `BASH_ARGV0='kernel-state'\n${stepProgram(KERNEL_STATE_STEP, readGuestScript)}`);
  t.is(beforeProgram(command, stepProgram(KERNEL_STATE_STEP, readGuestScript)).cpus, HOST_CPUS);
});

test("a value with quotes, spaces and a newline reaches the step's environment as it is", (t) => {
  const value = `it's "a"\n$(true) \\ end`;
  const step = { name: "x'y", script: 'thp.sh', env: { ODD: value } };
  const set = beforeProgram(guestCommand(step, readGuestScript), stepProgram(step, readGuestScript));
  t.is(set.env.ODD, value);
  t.is(set.name, "x'y");
});

test('a variable that is not UPPERCASE is refused', (t) => {
  t.throws(() => guestCommand({ name: 'x', script: 'thp.sh', env: { p: 1 } }, readGuestScript), {
    message: /not UPPERCASE/,
  });
});

test('lib.sh runs the probe from where numacage installs it', (t) => {
  t.regex(readGuestScript('lib.sh'), new RegExp(`^numacage_probe=${GUEST_PROBE_PATH}$`, 'm'));
});

test('every file of guest/scripts/ is sent by some step', (t) => {
  const programs = [
    ...FIXTURES.map((dir) => contextOf(dir)),
    hotplugContext(),
    seriesTopologyContext('migrate', 'patched-6.12-private'),
    seriesTopologyContext('reclaim-user', 'patched-6.12-private-user', 'private-user'),
    seriesTopologyContext('reserve', 'patched-6.12-private'),
    seriesTopologyContext('cma-user', 'patched-6.12-private-user', 'private-user'),
  ].flatMap((ctx) => guestSteps(ctx).map((s) => stepProgram(s, readGuestScript)));
  for (const file of readdirSync(projectPath('guest', 'scripts')))
    t.true(
      programs.some((p) => p.includes(readGuestScript(file))),
      file,
    );
});

/** A script run on the host after lib.sh, as a step runs in the guest: its stdout. */
const afterLib = (script: string): string =>
  execFileSync('bash', ['-c', `${readGuestScript('lib.sh')}\n${script}`], { encoding: 'utf8' });

test("lib.sh's writes: the kernel's refusal is an answer with its reason; a file that cannot be opened ends the step as a setup failure", (t) => {
  // /dev/full refuses every write (ENOSPC) as a kernel knob refuses a value: at write(2), after the open.
  t.is(afterLib('write_answer 1 /dev/null "write ok" "write refused:"; echo "status $?"'), 'write ok\nstatus 0\n');
  t.is(
    afterLib('write_answer 1 /dev/full "write ok" "write refused:"; echo "status $?"'),
    'write refused: No space left on device\nstatus 1\n',
  );
  t.is(
    afterLib('mems_answer 0-1 /dev/full /dev/null; echo "status $?"'),
    'mems-refused No space left on device\nstatus 1\n',
  );
  t.is(afterLib('mems_answer 0-1 /dev/null /proc/self/comm'), 'mems-accepted bash\n');
  // What a cgroup's file gives when its controller is not enabled: no file to open. Nothing after runs.
  t.is(
    afterLib('mems_answer 0-1 /sys/fs/cgroup/numacage-none/cpuset.mems /dev/null; echo after'),
    '### setup-failed\n/sys/fs/cgroup/numacage-none/cpuset.mems could not be opened: No such file or directory\n',
  );
  t.is(
    afterLib('setup_write 1 /dev/full; echo after'),
    '### setup-failed\n/dev/full refused 1: No space left on device\n',
  );
});

test('lib.sh: retry_for retries until the command succeeds, or gives up after its seconds', (t) => {
  const third = 'n=0; third() { n=$((n + 1)); [ "$n" -ge 3 ]; }';
  t.is(afterLib(`${third}; retry_for 5 third; echo "status $? after $n"`), 'status 0 after 3\n');
  t.is(afterLib('retry_for 0 false; echo "status $?"'), 'status 1\n');
});

test('lib.sh: the waits start no program (under TCG each costs ~55 ms of CPU): nap sleeps, state_of and gone follow a child to its end', (t) => {
  // PATH emptied once nap has made its FIFO: anything but a builtin would fail with "command not found".
  const out = afterLib(`nap 0.01
sleep 30 & p=$!
PATH=/nonexistent
start=$EPOCHREALTIME; nap 0.3; end=$EPOCHREALTIME
echo "napped $(( (\${end/./} - \${start/./}) / 1000 )) ms"
state_of "$p"; echo "state $state"; gone "$p" || echo "not gone"
kill -STOP "$p"; await_stopped "$p"; state_of "$p"; echo "state $state"
kill -KILL "$p"; ends_within "$p" 5 && echo "ended"; gone "$p" && echo "gone"
wait "$p" 2> /dev/null; state_of "$p"; echo "state '$state'"; ends_within "$p" 0 && echo "still ended"`);
  const napped = Number(/napped (\d+) ms/.exec(out)?.[1]);
  t.true(napped >= 290 && napped < 1000, out);
  t.is(out.replace(/napped \d+ ms\n/, ''), "state S\nnot gone\nstate T\nended\ngone\nstate ''\nstill ended\n");
});

test('lib.sh: ends_within gives up at its deadline', (t) => {
  t.is(afterLib('sleep 30 & p=$!; ends_within "$p" 1; echo "status $?"; kill "$p"'), 'status 1\n');
});

test('lib.sh: write_within ends a write that is still going after its seconds, and keeps the status of one that ends', (t) => {
  // A FIFO with no reader blocks the write at open, as offlining a block with a page that will not move
  // blocks it in the kernel until a signal.
  const d = mkdtempSync(join(tmpdir(), 'numacage-write-within-'));
  try {
    execFileSync('mkfifo', [join(d, 'stuck')]);
    t.is(afterLib(`write_within 1 offline ${d}/stuck; echo "status $?"`), 'status 1\n');
    t.is(afterLib(`write_within 5 offline ${d}/file; echo "status $?"; cat ${d}/file`), 'status 0\noffline\n');
    t.is(afterLib(`write_within 5 offline ${d}/no/such; echo "status $?"`), 'status 1\n');
  } finally {
    rmSync(d, { recursive: true });
  }
});
