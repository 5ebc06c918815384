#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { assertCacheWritable, resolveCacheDir } from '../adapters/cache-dir.js';
import { childrenGone, withCancellation } from '../adapters/cancel.js';
import { runInterruptCleanups } from '../adapters/cleanup.js';
import { ensureImage, loadRecipe } from '../adapters/image-builder.js';
import { HOST_PACKAGES, installPackages, renderDoctor, runDoctor, TEST_PACKAGES } from '../app/doctor.js';
import { bootGuestCommand, sshCommand } from '../app/interactive.js';
import { planCommand } from '../app/plan.js';
import { type KernelChoice, type RunOptions } from '../app/run.js';
import { runMatrix } from '../app/matrix.js';
import { compareCommand } from '../app/compare.js';
import { mergeCommand } from '../app/merge.js';
import { parseShard } from '../app/cells.js';
import { DEFAULT_TIME_THRESHOLD } from '../report/regressions.js';
import { reproCommand } from '../app/repro.js';
import { bisectCommand } from '../app/bisect.js';
import { verifyCache } from '../app/cache.js';
import { listCache, renderCacheList } from '../app/cache-ls.js';
import { gcCache, parseDays, parseSize, renderGc } from '../app/cache-gc.js';
import { parseRunConfig } from '../app/run-config.js';
import { readJsonFile } from '../adapters/json-file.js';
import { DEFAULT_FRAGMENTS, ensureKernel } from '../adapters/kernel-builder.js';
import { createLogger, type Logger } from '../log.js';
import { ConfigError, ExitCode, NumacageError } from '../model/errors.js';
import { DEFAULT_TOPOLOGY } from '../topology/builtin.js';
import { DEFAULT_IMAGE } from '../image/recipe.js';
import { DEFAULT_STEP_TIMEOUT_SECONDS } from '../steps/steps.js';
import { selectInvariants } from '../invariants/registry.js';
import { z } from 'zod';
import { positivePercent, positiveSeconds, wholeAtLeastOne } from '../schema/parse.js';


interface Common {
  'cache-dir'?: string;
  json?: boolean;
  verbose?: boolean;
}

function common(argv: Common): { cacheDir: string; log: Logger } {
  return { cacheDir: resolveCacheDir(argv['cache-dir']), log: createLogger({ json: argv.json, verbose: argv.verbose }) };
}

function guestOptions<T>(y: Argv<T>) {
  return y
    .option('topology', { alias: 't', type: 'string', default: DEFAULT_TOPOLOGY, describe: 'built-in topology name or path to a topology .json (docs/topology.md)' })
    .option('image', { type: 'string', default: DEFAULT_IMAGE, describe: 'image recipe name under images/ or path to a recipe .json' })
    .option('accel', { choices: ['auto', 'kvm', 'tcg'] as const, default: 'auto' as const, describe: 'auto uses KVM only when a real test boot works' })
    .option('init', { choices: ['minimal', 'systemd'] as const, default: 'minimal' as const, describe: "guest init: numacage's minimal init (fast) or systemd" })
    .option('boot-timeout', { type: 'number', describe: 'seconds to wait for SSH (default: 120 TCG / 40 KVM; x2 with systemd)' })
    .option('out', { type: 'string', default: process.env.NUMACAGE_RUNS ?? 'runs', describe: 'where run directories are created' })
    .option('keep', { type: 'boolean', default: false, describe: 'keep the qcow2 overlay in the run directory' })
    .config('config', 'a run config JSON file (docs/run-config.md); flags win over it', (path: string) => parseRunConfig(readJsonFile(path, 'run config'), path))
    .option('suite', { type: 'string', default: 'isolation', describe: 'isolation (every implemented invariant), smoke (topology, abi, no-kernel-memory) or none (only --exec steps)' })
    .option('only', { type: 'string', describe: 'comma list of invariant ids to run instead of a suite' })
    .option('append', { type: 'string', describe: 'extra guest kernel command-line words (a later init= wins over numacage\'s)' })
    .option('kernel', { type: 'string', describe: "stock: the image's Debian kernel; built: build from source (default: built when --kernel-src, --patches or --kconfig is given, else stock)" });
}

function kernelOptions<T>(y: Argv<T>) {
  return y
    .option('kernel-src', { type: 'string', describe: "kernel git work tree (default: Debian's linux-source-6.12 tarball)" })
    .option('patches', { type: 'string', describe: 'folder under patches/ (quilt series or format-patch files), a .patch file, or an mbox' })
    .option('kconfig', { type: 'string', array: true, describe: `kconfig fragments under kconfigs/ or paths, merged in order (default: ${DEFAULT_FRAGMENTS.join(' ')})` });
}

function stepOptions<T>(y: Argv<T>) {
  return y
    .option('exec', { type: 'string', array: true, describe: 'a command to run in the guest after the invariants, a check of its own (exit 0 = pass; TAP/KTAP output gives subtests); repeatable, in order' })
    .option('upload', { type: 'string', array: true, describe: 'LOCAL[:GUEST] file or directory copied into the guest before the steps (default GUEST: the step user\'s home, where steps start)' })
    .option('kselftest', { type: 'string', array: true, describe: 'COLLECTION/PROGRAM[,...] kselftests (or mm:CATEGORY of run_vmtests.sh -t) built static, cached, from the tree of the kernel under test and run as root before the --exec steps, e.g. mm/ksm_functional_tests or mm:mremap' })
    .option('as', { choices: ['root', 'user'] as const, default: 'root' as const, describe: "the steps' guest user: root, or the image's unprivileged user" })
    .option('step-timeout', { type: 'number', default: DEFAULT_STEP_TIMEOUT_SECONDS, describe: 'seconds each step may run before it is killed and fails' });
}

type GuestArgv = Common & {
  topology: string; image: string; accel: 'auto' | 'kvm' | 'tcg'; init: 'minimal' | 'systemd'; 'boot-timeout'?: number; out: string; keep: boolean; append?: string; suite: string; only?: string;
  kernel?: string; 'kernel-src'?: string; patches?: string; kconfig?: string[];
  exec?: string[]; upload?: string[]; kselftest?: string[]; as?: 'root' | 'user'; 'step-timeout'?: number;
};

/**
 * --kernel stock|built|built:PATCHES, comma lists for a matrix: built takes
 * --patches, built:PATCHES its own patches (a folder under patches/, a file
 * or a path); every built kernel takes --kernel-src and --kconfig.
 */
function kernelChoices(argv: GuestArgv): KernelChoice[] {
  const wantsBuild = argv['kernel-src'] !== undefined || argv.patches !== undefined || argv.kconfig !== undefined;
  const kinds = (argv.kernel ?? (wantsBuild ? 'built' : 'stock')).split(',').filter(Boolean);
  for (const k of kinds)
    if (k !== 'stock' && k !== 'built' && !/^built:.+/.test(k)) throw new ConfigError(`--kernel ${argv.kernel}: "${k}" is not stock, built or built:PATCHES`, 'use e.g. --kernel stock,built,built:private-node');
  if (!kinds.some((k) => k.startsWith('built')) && wantsBuild) throw new ConfigError('--kernel stock cannot take --kernel-src, --patches or --kconfig', 'add built to --kernel (e.g. --kernel stock,built)');
  // The word names the kernel in reports and matrix cells, alone or not: a nightly's cells keep their names when the matrix changes.
  return kinds.map((k): KernelChoice => {
    if (k === 'stock') return { kind: 'stock', label: k };
    const patches = k.startsWith('built:') ? k.slice('built:'.length) : argv.patches;
    return { kind: 'built', kernelSrc: argv['kernel-src'], patches, fragments: argv.kconfig ?? DEFAULT_FRAGMENTS, label: k };
  });
}

/** repro's default kconfig: the defaults plus debug info, so that crash stacks decode to file:line. */
const REPRO_FRAGMENTS = [...DEFAULT_FRAGMENTS, 'debug-vm'];

/** --for 30s|5m|1h|90 → seconds. */
function parseDuration(text: string): number {
  const m = /^(\d+)\s*(s|m|h)?$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw new ConfigError(`--for ${text}: not a duration`, 'write e.g. --for 30s, --for 5m or --for 1h');
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] ?? 1);
}

const NumericOptions = z.object({
  'boot-timeout': positiveSeconds.optional(),
  guests: wholeAtLeastOne.optional(),
  jobs: wholeAtLeastOne.optional(),
  'step-timeout': positiveSeconds.optional(),
  repeat: wholeAtLeastOne.optional(),
  runs: wholeAtLeastOne.optional(),
  'time-threshold': positivePercent.optional(),
});

/** yargs turns "abc" into NaN: the schema refuses it, and the message quotes what was typed. */
function checkNumbers(argv: object): void {
  const r = NumericOptions.safeParse(argv);
  if (r.success) return;
  const issue = r.error.issues[0]!;
  const flag = `--${String(issue.path[0])}`;
  // --flag VALUE shows VALUE as typed; --flag=VALUE or a run config's value shows what was parsed.
  const at = process.argv.indexOf(flag);
  const typed = at >= 0 ? process.argv[at + 1] : String((argv as Record<string, unknown>)[String(issue.path[0])]);
  throw new ConfigError(`${flag} ${typed}: ${issue.message}`, 'see numacage run --help');
}

/** The options of one run; `run` passes matrix: true and replaces the topology and kernel per cell. */
function runOptionsFrom(argv: GuestArgv, matrix = false): RunOptions {
  const { cacheDir, log } = common(argv);
  const kernels = kernelChoices(argv);
  if (!matrix && (kernels.length > 1 || argv.topology.includes(','))) throw new ConfigError('only `numacage run` takes several topologies or kernels');
  const kernel = kernels[0]!;
  checkNumbers(argv);
  return {
    cacheDir, log, outDir: argv.out, topology: argv.topology, image: argv.image, accel: argv.accel, init: argv.init,
    bootTimeoutSeconds: argv['boot-timeout'], keep: argv.keep, kernel, append: argv.append?.split(/\s+/).filter(Boolean) ?? [],
    invariants: selectInvariants(argv.suite, argv.only),
    ...(argv.exec?.length || argv.upload?.length || argv.kselftest?.length
      ? { steps: { exec: argv.exec ?? [], uploads: argv.upload ?? [], kselftests: argv.kselftest ?? [], as: argv.as ?? 'root', stepTimeoutSeconds: argv['step-timeout'] ?? DEFAULT_STEP_TIMEOUT_SECONDS } }
      : {}),
  };
}

async function main(): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const cli = yargs(hideBin(process.argv))
    .scriptName('numacage')
    .usage('$0 <command> [options]\n\nBuild, boot and probe kernels in QEMU guests with declared NUMA topologies.')
    .option('cache-dir', { type: 'string', describe: 'cache root (default $NUMACAGE_CACHE or ~/.cache/numacage)' })
    .option('json', { type: 'boolean', describe: 'log pino JSON lines on stderr instead of readable lines (for a program to read)' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'debug logging' })
    .command('doctor', 'check host prerequisites and whether KVM really works', (y) =>
      y.option('install', { type: 'boolean', default: false, describe: 'install missing Debian packages with apt-get' })
        .option('for-tests', { type: 'boolean', default: false, describe: `with --install: also what numacage's own tests need (${TEST_PACKAGES.join(' ')})` }),
    async (argv) => {
      const { cacheDir, log } = common(argv);
      if (argv.install) await installPackages(log, argv['for-tests'] ? [...HOST_PACKAGES, ...TEST_PACKAGES] : HOST_PACKAGES);
      const checks = await runDoctor(cacheDir);
      process.stdout.write(renderDoctor(checks));
      exitCode = checks.every((c) => c.ok || c.optional) ? ExitCode.ok : ExitCode.infra;
    })
    .command('image <action> [recipe]', 'build the guest image (cached by content)', (y) =>
      y.positional('action', { choices: ['build'] as const, demandOption: true })
        .positional('recipe', { type: 'string', default: DEFAULT_IMAGE })
        .option('rebuild', { type: 'boolean', default: false, describe: 'build again even when cached' }),
    async (argv) => {
      const { cacheDir, log } = common(argv);
      await assertCacheWritable(cacheDir);
      const image = await ensureImage({ recipe: await loadRecipe(argv.recipe), cacheDir, log, rebuild: argv.rebuild });
      process.stdout.write(`${image.dir}\n`);
    })
    .command('plan', 'print the run as data: resolved topology, kernel, accelerator, checks and the exact QEMU argv; run nothing', (y) =>
      stepOptions(kernelOptions(guestOptions(y)))
        .option('dry-run', { type: 'boolean', default: true, describe: 'always on: plan never builds or boots' })
        .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'json prints the RunPlan' }),
    async (argv) => {
      process.stdout.write(await planCommand(runOptionsFrom(argv), argv.format));
    })
    .command('kernel <action>', 'build a kernel from source with patches and kconfig fragments (cached by content)', (y) =>
      kernelOptions(y.positional('action', { choices: ['build'] as const, demandOption: true }))
        .option('rebuild', { type: 'boolean', default: false, describe: 'build again even when cached' }),
    async (argv) => {
      const { cacheDir, log } = common(argv);
      await assertCacheWritable(cacheDir);
      const k = await ensureKernel({ cacheDir, log, kernelSrc: argv['kernel-src'], patches: argv.patches, fragments: argv.kconfig ?? DEFAULT_FRAGMENTS, rebuild: argv.rebuild });
      process.stdout.write(`${k.dir}\n  ${k.release}, ${k.cached ? 'cached' : `built in ${k.buildSeconds} s`}; ${k.source}${k.patches.length ? `; ${k.patches.length} patch(es)` : ''}\n`);
    })
    .command('run', 'the main job: image, boot, probe, check, report (comma lists in --topology and --kernel run a matrix side by side)', (y) =>
      stepOptions(kernelOptions(guestOptions(y)))
        .option('guests', { type: 'number', default: 1, describe: 'guests per (topology, kernel) pair' })
        .option('jobs', { type: 'number', describe: 'guests at once (default: as many as CPUs and memory allow)' })
        .option('shard', { type: 'string', describe: 'I/N: run only shard I of N of the matrix cells (a CI engine\'s matrix runs the N shards; numacage merge joins them)' })
        .option('baseline', { type: 'string', describe: 'a report (run, matrix or merged directory, or its JSON) to compare this run against at the end; exit 1 on any regression' })
        .option('time-threshold', { type: 'number', default: DEFAULT_TIME_THRESHOLD.percent, describe: 'with --baseline: a stage or check this many percent (and 5 s) slower is a regression' })
        .option('markdown', { type: 'string', describe: 'with --baseline: append the summary as Markdown to this file (e.g. "$GITHUB_STEP_SUMMARY")' }),
    async (argv) => {
      const base = runOptionsFrom(argv, true);
      if (argv.baseline === undefined && argv.markdown !== undefined) throw new ConfigError('--markdown needs --baseline', 'give --baseline REPORT to compare the run with');
      const result = await runMatrix({
        ...base, topologies: argv.topology.split(',').filter(Boolean), kernels: kernelChoices(argv), guests: argv.guests, jobs: argv.jobs,
        ...(argv.shard !== undefined ? { shard: parseShard(argv.shard) } : {}),
        ...(argv.baseline !== undefined
          ? { baseline: { path: argv.baseline, threshold: { ...DEFAULT_TIME_THRESHOLD, percent: argv['time-threshold'] }, ...(argv.markdown !== undefined ? { markdownFile: argv.markdown } : {}) } }
          : {}),
      });
      process.stdout.write(result.text);
      exitCode = result.ok && !result.regressed ? ExitCode.ok : ExitCode.failed;
    })
    .command('boot', 'boot a guest and leave it up until Ctrl-C', (y) => kernelOptions(guestOptions(y)),
    async (argv) => {
      exitCode = await bootGuestCommand(runOptionsFrom(argv));
    })
    .command('ssh [command..]', 'a shell, or one command, in the guest left up by `numacage boot`', (y) =>
      y.positional('command', { type: 'string', array: true, default: [] as string[] })
        .option('guest', { type: 'string', describe: 'guest id (default: the newest)' })
        .option('user', { type: 'string', default: 'root' }),
    async (argv) => {
      const { cacheDir } = common(argv);
      // Words after `--` land in argv._ (after the command name itself).
      const words = [...argv.command, ...argv._.slice(1).map(String)];
      exitCode = await sshCommand({ cacheDir, guest: argv.guest, user: argv.user, command: words.join(' ') });
    })
    .command('cache <action>', 'ls: entries with kind, size, last use, inputs; gc: remove the least recently used (never one in use); verify: hash every image and kernel against what was recorded when it was built (damaged entries are removed)', (y) =>
      y.positional('action', { choices: ['ls', 'gc', 'verify'] as const, demandOption: true })
        .option('max-size', { type: 'string', describe: 'gc: remove least recently used entries until the cache is at most this (20G, 500M, 1.5GiB, bytes)' })
        .option('older-than', { type: 'string', describe: 'gc: first remove every entry not used for more than this many days' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'gc: say what would go, remove nothing' })
        .option('format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'ls and gc: json prints the entries as data' }),
    async (argv) => {
      const { cacheDir, log } = common(argv);
      if (argv.action === 'verify') {
        const r = await verifyCache(cacheDir, log);
        process.stdout.write(r.text);
        exitCode = r.ok ? ExitCode.ok : ExitCode.failed;
      } else if (argv.action === 'ls') {
        const listing = await listCache(cacheDir);
        process.stdout.write(argv.format === 'json' ? `${JSON.stringify(listing, null, 2)}\n` : renderCacheList(listing));
      } else {
        if (argv['max-size'] === undefined && argv['older-than'] === undefined)
          throw new ConfigError('cache gc needs --max-size or --older-than', 'e.g. numacage cache gc --max-size 20G, or --older-than 30');
        const r = await gcCache(cacheDir, {
          log, dryRun: argv['dry-run'],
          ...(argv['max-size'] !== undefined ? { maxSizeBytes: parseSize(argv['max-size']) } : {}),
          ...(argv['older-than'] !== undefined ? { olderThanDays: parseDays(argv['older-than']) } : {}),
        });
        process.stdout.write(argv.format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : renderGc(r));
      }
    })
    .command('compare <reports..>', 'regressions from a baseline to a new report, cell by cell and check by check (exit 1 on any); or the kernels of one matrix side by side (--by kernel)', (y) =>
      y.positional('reports', { type: 'string', array: true, demandOption: true, describe: 'BASELINE NEW: run, matrix or merged directories, or their report.json / matrix.json; or one matrix directory with --by kernel' })
        .option('by', { choices: ['kernel'] as const, describe: 'compare the kernels of one matrix directory, per topology' })
        .option('markdown', { type: 'string', describe: 'append the summary as Markdown to this file (e.g. "$GITHUB_STEP_SUMMARY")' })
        .option('time-threshold', { type: 'number', default: DEFAULT_TIME_THRESHOLD.percent, describe: 'a stage or check this many percent (and 5 s) slower is a regression' }),
    async (argv) => {
      checkNumbers(argv);
      const r = await compareCommand(argv.reports, { by: argv.by, markdownFile: argv.markdown, timeThreshold: { ...DEFAULT_TIME_THRESHOLD, percent: argv['time-threshold'] } });
      process.stdout.write(r.text);
      exitCode = r.regressed ? ExitCode.failed : ExitCode.ok;
    })
    .command('merge <dirs..>', 'join the shards of one matrix (their directories, or directories holding them) into one report: report.json, junit.xml, results.ktap, summary.txt, report.html; exit 2 if a cell is missing or twice', (y) =>
      y.positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'shard directories (`run --shard I/N --out DIR`), matrix or run directories' })
        .option('out', { type: 'string', describe: 'the merged directory (default: runs/<time>-merged)' }),
    async (argv) => {
      const r = await mergeCommand(argv.dirs, argv.out, process.env.NUMACAGE_RUNS ?? 'runs');
      process.stdout.write(r.text);
      exitCode = r.ok ? ExitCode.ok : ExitCode.failed;
    })
    .command('repro <series>', 'reproduce a report: the series\' base and the series side by side, a reproducer run on each, the console watched; writes reply.txt for the list (exit 1 when it reproduces with the series)', (y) =>
      y.positional('series', { type: 'string', demandOption: true, describe: 'an mbox (git format-patch --stdout, b4 am), a .patch file or a patch folder' })
        .option('kernel-src', { type: 'string', describe: "kernel git tree; the series' base-commit: trailer is honoured (default: Debian's linux-source-6.12)" })
        .option('kconfig', { type: 'string', array: true, describe: `kconfig fragments (default: ${REPRO_FRAGMENTS.join(' ')}: debug info decodes stacks to file:line)` })
        .option('reproducer', { type: 'string', describe: 'FILE.c (built with gcc -static on the host) or a script, uploaded and run as root' })
        .option('exec', { type: 'string', array: true, default: [] as string[], describe: 'commands to run (after the reproducer, when both are given)' })
        .option('repeat', { type: 'number', default: 3, describe: 'runs of the reproducer on each kernel' })
        .option('for', { type: 'string', describe: 'run the reproducer in a loop for this long instead (30s, 5m, 1h)' })
        .option('step-timeout', { type: 'number', describe: 'seconds each run may take (default 300; with --for, its length + 60)' })
        .option('topology', { alias: 't', type: 'string', default: DEFAULT_TOPOLOGY })
        .option('image', { type: 'string', default: DEFAULT_IMAGE })
        .option('accel', { choices: ['auto', 'kvm', 'tcg'] as const, default: 'auto' as const })
        .option('init', { choices: ['minimal', 'systemd'] as const, default: 'minimal' as const })
        .option('append', { type: 'string', describe: 'extra guest kernel command-line words' })
        .option('boot-timeout', { type: 'number' })
        .option('out', { type: 'string', default: process.env.NUMACAGE_RUNS ?? 'runs' }),
    async (argv) => {
      const { cacheDir, log } = common(argv);
      checkNumbers(argv);
      const r = await reproCommand({
        cacheDir, log, outDir: argv.out, series: argv.series, kernelSrc: argv['kernel-src'], fragments: argv.kconfig ?? REPRO_FRAGMENTS,
        reproducer: argv.reproducer, exec: argv.exec, repeat: argv.repeat, forSeconds: argv.for === undefined ? undefined : parseDuration(argv.for),
        stepTimeoutSeconds: argv['step-timeout'], topology: argv.topology, image: argv.image, accel: argv.accel, init: argv.init,
        append: argv.append?.split(/\s+/).filter(Boolean) ?? [], bootTimeoutSeconds: argv['boot-timeout'],
      });
      process.stdout.write(r.text);
      exitCode = r.reproducedOnPatched ? ExitCode.failed : ExitCode.ok;
    })
    .command('bisect', 'find the first patch of a series (or the first commit between two revisions) that breaks a check, brings a crash signature, or fails a command', (y) =>
      y.option('patches', { type: 'string', describe: 'the series to bisect (prefix builds are cached)' })
        .option('kernel-src', { type: 'string', describe: 'kernel git tree, with --good and --bad: git bisect in numacage\'s own clone' })
        .option('good', { type: 'string' })
        .option('bad', { type: 'string' })
        .option('check', { type: 'string', describe: 'bad when this invariant does not hold (pass, xfail or skip are good)' })
        .option('crash', { type: 'string', describe: 'bad when a console report\'s signature contains this text (e.g. "warning: do_mbind")' })
        .option('exec', { type: 'string', array: true, describe: 'bad when a command fails or the kernel reports anything while it runs' })
        .option('reproducer', { type: 'string', describe: 'FILE.c or a script, run like --exec' })
        .option('runs', { type: 'number', default: 1, describe: 'guests per step, for flaky bugs: a step is bad if any run is' })
        .option('kconfig', { type: 'string', array: true, describe: `kconfig fragments (default: ${DEFAULT_FRAGMENTS.join(' ')})` })
        .option('topology', { alias: 't', type: 'string', default: DEFAULT_TOPOLOGY })
        .option('image', { type: 'string', default: DEFAULT_IMAGE })
        .option('accel', { choices: ['auto', 'kvm', 'tcg'] as const, default: 'auto' as const })
        .option('init', { choices: ['minimal', 'systemd'] as const, default: 'minimal' as const })
        .option('append', { type: 'string' })
        .option('boot-timeout', { type: 'number' })
        .option('step-timeout', { type: 'number', default: DEFAULT_STEP_TIMEOUT_SECONDS })
        .option('out', { type: 'string', default: process.env.NUMACAGE_RUNS ?? 'runs' }),
    async (argv) => {
      const { cacheDir, log } = common(argv);
      checkNumbers(argv);
      // --exec and --reproducer say what runs; they are the criterion too unless --check or --crash is.
      if (argv.check && argv.crash) throw new ConfigError('numacage bisect takes --check or --crash, not both');
      if (!argv.check && !argv.crash && !argv.exec?.length && !argv.reproducer)
        throw new ConfigError('numacage bisect needs a criterion', 'give --check ID, --crash SIGNATURE (with --reproducer or --exec to provoke it), or --exec CMD / --reproducer FILE');
      const r = await bisectCommand({
        cacheDir, log, outDir: argv.out, reproducer: argv.reproducer, exec: argv.exec ?? [], stepTimeoutSeconds: argv['step-timeout'], topology: argv.topology, image: argv.image, accel: argv.accel, init: argv.init,
        append: argv.append?.split(/\s+/).filter(Boolean) ?? [], bootTimeoutSeconds: argv['boot-timeout'], runs: argv.runs,
        fragments: argv.kconfig ?? DEFAULT_FRAGMENTS, patches: argv.patches, kernelSrc: argv['kernel-src'], good: argv.good, bad: argv.bad,
        criterion: argv.check ? { check: argv.check } : argv.crash ? { crash: argv.crash } : { steps: true },
      });
      process.stdout.write(r.text);
      exitCode = r.firstBad ? ExitCode.ok : ExitCode.failed;
    })
    .demandCommand(1, 'name a command: run, merge, compare, repro, bisect, doctor, image build, kernel build, plan, boot, ssh, cache ls|gc|verify')
    .strict()
    .help()
    .fail((msg, err) => {
      // yargs wraps what a config parser throws in a YError: it is still the user's to fix.
      if (err && err.name === 'YError') throw new UsageError(err.message);
      if (err) throw err;
      throw new UsageError(msg);
    });
  await cli.parseAsync();
  return exitCode;
}

class UsageError extends Error {}

const HOST_FS_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR']);
const isHostFsError = (err: unknown): err is Error & { code: string; path?: string } => err instanceof Error && HOST_FS_CODES.has((err as { code?: string }).code ?? '');

// The command's cancellation scope: a signal aborts it, which kills every tool it started (SIGTERM, then SIGKILL);
// once they are gone the cleanups remove what they were writing and stop the guests.
const command = new AbortController();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`numacage: ${signal}, stopping guests and cleaning up\n`);
    command.abort(signal);
    void childrenGone()
      .then(runInterruptCleanups)
      .finally(() => process.exit(signal === 'SIGINT' ? ExitCode.interrupted : 143));
  });
}

withCancellation(command.signal, main).then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    // After a signal the error is the interrupted tool's: the signal handler ends the process.
    if (interrupted) return;
    await runInterruptCleanups();
    if (err instanceof NumacageError) {
      process.stderr.write(`numacage: ${err.message}\n${err.hint ? `  what to do: ${err.hint}\n` : ''}`);
      process.exitCode = err.exitCode;
    } else if (isHostFsError(err)) {
      // A full or read-only filesystem under a build: the host's to fix, not a numacage bug.
      process.stderr.write(`numacage: ${err.code} on ${err.path ?? 'a file'}: ${err.message}\n  what to do: free space or fix permissions there (or give another --cache-dir / --out), then run again\n`);
      process.exitCode = ExitCode.infra;
    } else if (err instanceof UsageError) {
      process.stderr.write(`numacage: ${err.message}\n  see: numacage --help${/run config/.test(err.message) ? ' and docs/run-config.md' : ''}\n`);
      process.exitCode = ExitCode.config;
    } else {
      process.stderr.write(`numacage: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
    }
  },
);
