#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { resolveCacheDir } from '../adapters/cache-dir.js';
import { runInterruptCleanups } from '../adapters/cleanup.js';
import { ensureImage, loadRecipe } from '../adapters/image-builder.js';
import { installPackages, renderDoctor, runDoctor } from '../app/doctor.js';
import { bootGuestCommand, sshCommand } from '../app/interactive.js';
import { planCommand } from '../app/plan.js';
import { runPipeline } from '../app/run.js';
import { createLogger, type Logger } from '../log.js';
import { ExitCode, NumacageError } from '../model/errors.js';
import { verdictHolds } from '../model/verdict.js';
import { DEFAULT_TOPOLOGY } from '../topology/builtin.js';

const DEFAULT_IMAGE = 'debian-bookworm';

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
    .option('keep', { type: 'boolean', default: false, describe: 'keep the qcow2 overlay in the run directory' });
}

async function main(): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const cli = yargs(hideBin(process.argv))
    .scriptName('numacage')
    .usage('$0 <command> [options]\n\nBuild, boot and probe kernels in QEMU guests with declared NUMA topologies.')
    .option('cache-dir', { type: 'string', describe: 'cache root (default $NUMACAGE_CACHE or ~/.cache/numacage)' })
    .option('json', { type: 'boolean', describe: 'log JSON lines (default when stderr is not a terminal)' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'debug logging' })
    .command('doctor', 'check host prerequisites and whether KVM really works', (y) =>
      y.option('install', { type: 'boolean', default: false, describe: 'install missing Debian packages with apt-get' }),
    async (argv) => {
      const { cacheDir, log } = common(argv);
      if (argv.install) await installPackages(log);
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
      const image = await ensureImage({ recipe: await loadRecipe(argv.recipe), cacheDir, log, rebuild: argv.rebuild });
      process.stdout.write(`${image.dir}\n`);
    })
    .command('plan', 'print the resolved topology and the exact QEMU argv, run nothing', (y) => guestOptions(y).option('dry-run', { type: 'boolean', default: true }),
    async (argv) => {
      const { cacheDir, log } = common(argv);
      process.stdout.write(await planCommand({ cacheDir, log, topology: argv.topology, image: argv.image, accel: argv.accel, init: argv.init }));
    })
    .command('run', 'the main job: image, boot, probe, check, report', (y) => guestOptions(y),
    async (argv) => {
      const { cacheDir, log } = common(argv);
      const outcome = await runPipeline({
        cacheDir, log, outDir: argv.out, topology: argv.topology, image: argv.image, accel: argv.accel, init: argv.init,
        bootTimeoutSeconds: argv['boot-timeout'], keep: argv.keep,
      });
      process.stdout.write(outcome.text);
      exitCode = verdictHolds(outcome.verdict) ? ExitCode.ok : ExitCode.failed;
    })
    .command('boot', 'boot a guest and leave it up until Ctrl-C', (y) => guestOptions(y),
    async (argv) => {
      const { cacheDir, log } = common(argv);
      exitCode = await bootGuestCommand({
        cacheDir, log, outDir: argv.out, topology: argv.topology, image: argv.image, accel: argv.accel, init: argv.init,
        bootTimeoutSeconds: argv['boot-timeout'], keep: argv.keep,
      });
    })
    .command('ssh [command..]', 'a shell, or one command, in the guest left up by `numacage boot`', (y) =>
      y.positional('command', { type: 'string', array: true, default: [] as string[] })
        .option('guest', { type: 'string', describe: 'guest id (default: the newest)' })
        .option('user', { type: 'string', default: 'root' }),
    async (argv) => {
      const { cacheDir } = common(argv);
      exitCode = await sshCommand({ cacheDir, guest: argv.guest, user: argv.user, command: argv.command.join(' ') });
    })
    .demandCommand(1, 'name a command: run, doctor, image build, plan, boot, ssh')
    .strict()
    .help()
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    });
  await cli.parseAsync();
  return exitCode;
}

class UsageError extends Error {}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`numacage: ${signal}, stopping guests and cleaning up\n`);
    void runInterruptCleanups().finally(() => process.exit(signal === 'SIGINT' ? ExitCode.interrupted : 143));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    await runInterruptCleanups();
    if (err instanceof NumacageError) {
      process.stderr.write(`numacage: ${err.message}\n${err.hint ? `  what to do: ${err.hint}\n` : ''}`);
      process.exitCode = err.exitCode;
    } else if (err instanceof UsageError) {
      process.stderr.write(`numacage: ${err.message}\n  see: numacage --help\n`);
      process.exitCode = ExitCode.config;
    } else {
      process.stderr.write(`numacage: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
    }
  },
);
