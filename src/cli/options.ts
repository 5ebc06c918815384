import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { z } from 'zod';
import { resolveCacheDir } from '../adapters/cache-dir.js';
import { readJsonFile } from '../adapters/json-file.js';
import { DEFAULT_FRAGMENTS } from '../adapters/kernel-builder.js';
import { DEFAULT_IMAGE } from '../image/recipe.js';
import { selectInvariants } from '../invariants/registry.js';
import { createLogger, type Logger } from '../log.js';
import { ConfigError } from '../model/errors.js';
import { inert } from '../report/markup.js';
import { builtinTopologyNames } from '../topology/builtin.js';
import { PROFILES } from '../invariants/expectation.js';
import type { KernelProfile } from '../invariants/profile.js';
import { DEFAULT_TIME_THRESHOLD } from '../report/regressions.js';
import { parseRunConfig } from '../run/config.js';
import type { KernelChoice, RunOptions } from '../run/run.js';
import { positivePercent, positiveSeconds, wholeAtLeastOne } from '../schema/parse.js';
import { DEFAULT_STEP_TIMEOUT_SECONDS } from '../steps/steps.js';
import { DEFAULT_TOPOLOGY } from '../topology/builtin.js';

export interface Common {
  'cache-dir'?: string;
  json?: boolean;
  verbose?: boolean;
}

/**
 * A command: its yargs builder (given the global options) and a handler that
 * sets process.exitCode; errors are thrown and main maps them to exit codes.
 * The handler is typed by the builder; the module is erased to yargs' plain
 * CommandModule so that one list holds every command.
 */
export function defineCommand<T>(
  command: string,
  describe: string,
  builder: (y: Argv<Common>) => Argv<T>,
  handler: (argv: ArgumentsCamelCase<T>) => Promise<void> | void,
): CommandModule {
  return { command, describe, builder, handler } as unknown as CommandModule;
}

export function common(argv: Common): { cacheDir: string; log: Logger } {
  return {
    cacheDir: resolveCacheDir(argv['cache-dir']),
    log: createLogger({ json: argv.json, verbose: argv.verbose }),
  };
}

export const DEFAULT_OUT = process.env.NUMACAGE_RUNS ?? 'runs';

/** Where the guest boots and how: run, plan, boot; repro and bisect take the same. */
export function bootOptions<T>(y: Argv<T>) {
  return y
    .option('topology', {
      alias: 't',
      type: 'string',
      default: DEFAULT_TOPOLOGY,
      describe: `built-in topology (${builtinTopologyNames().join(', ')}) or path to a topology .json (docs/topology.md); run takes a comma list, a matrix`,
    })
    .option('image', {
      type: 'string',
      default: DEFAULT_IMAGE,
      describe: 'image recipe name under images/ or path to a recipe .json',
    })
    .option('accel', {
      choices: ['auto', 'kvm', 'tcg'] as const,
      default: 'auto' as const,
      describe: 'auto uses KVM only when a real test boot works',
    })
    .option('init', {
      choices: ['minimal', 'systemd'] as const,
      default: 'minimal' as const,
      describe: "guest init: numacage's minimal init (fast) or systemd",
    })
    .option('boot-timeout', {
      type: 'number',
      describe: 'seconds to wait for SSH (default: 120 TCG / 40 KVM; x2 with systemd)',
    })
    .option('append', {
      type: 'string',
      describe: "extra guest kernel command-line words (a later init= wins over numacage's)",
    })
    .option('out', { type: 'string', default: DEFAULT_OUT, describe: 'where run directories are created' });
}

/** --expect for the commands that build their own kernels (repro, bisect): one profile for all of them. */
export const singleExpectOption = {
  type: 'string',
  describe: `the profile every kernel is judged by where checks run (${PROFILES.join(', ')}; default: inferred from the command line and topology)`,
} as const;

export const oneExpect = (text: string | undefined): { expect?: KernelProfile } => {
  const [profile] = parseExpect(text, ['every kernel']);
  return profile ? { expect: profile } : {};
};

export function guestOptions<T>(y: Argv<T>) {
  return bootOptions(y)
    .option('keep', { type: 'boolean', default: false, describe: 'keep the qcow2 overlay in the run directory' })
    .config('config', 'a run config JSON file (docs/run-config.md); flags win over it', (path: string) =>
      parseRunConfig(readJsonFile(path, 'run config'), path),
    )
    .option('suite', {
      type: 'string',
      default: 'isolation',
      describe:
        'isolation (the 44 rows of the catalogue), device (topology, device-io, buffers-on-p: a topology with a vhost-user-net on P), all (both), smoke (topology, abi, no-kernel-memory) or none (only --exec steps)',
    })
    .option('only', { type: 'string', describe: 'comma list of invariant ids to run instead of a suite' })
    .option('expect', {
      type: 'string',
      describe: `the profile each kernel is judged by: one for all, or a comma list, one per --kernel word (${PROFILES.join(', ')}; default: private with private_node=P on the command line, private-user with ",user", vanilla-movable when P is hot-plugged, else vanilla)`,
    })
    .option('kernel', {
      type: 'string',
      describe:
        "stock: the image's Debian kernel; built: build from source, with --patches if given; built:PATCHES: build with these patches (a folder under patches/, a file or an mbox; NAME@K for its first K); run takes a comma list, side by side, e.g. built,built:private-node (default: built when --kernel-src, --patches or --kconfig is given, else stock)",
    });
}

export function kernelOptions<T>(y: Argv<T>) {
  return y
    .option('kernel-src', {
      type: 'string',
      describe: "kernel git work tree (default: Debian's linux-source-6.12 tarball)",
    })
    .option('patches', {
      type: 'string',
      describe: 'folder under patches/ (quilt series or format-patch files), a .patch file, or an mbox',
    })
    .option('kconfig', {
      type: 'string',
      array: true,
      describe: `kconfig fragments under kconfigs/ or paths, merged in order (default: ${DEFAULT_FRAGMENTS.join(' ')})`,
    });
}

export function stepOptions<T>(y: Argv<T>) {
  return y
    .option('exec', {
      type: 'string',
      array: true,
      describe:
        'a command to run in the guest after the invariants, a check of its own (exit 0 = pass; TAP/KTAP output gives subtests); repeatable, in order',
    })
    .option('upload', {
      type: 'string',
      array: true,
      describe:
        "LOCAL[:GUEST] file or directory copied into the guest before the steps (default GUEST: the step user's home, where steps start)",
    })
    .option('kselftest', {
      type: 'string',
      array: true,
      describe:
        'COLLECTION/PROGRAM[,...] kselftests (or mm:CATEGORY of run_vmtests.sh -t) built static, cached, from the tree of the kernel under test and run as root before the --exec steps, e.g. mm/ksm_functional_tests or mm:mremap',
    })
    .option('as', {
      choices: ['root', 'user'] as const,
      default: 'root' as const,
      describe: "the steps' guest user: root, or the image's unprivileged user",
    })
    .option('step-timeout', {
      type: 'number',
      default: DEFAULT_STEP_TIMEOUT_SECONDS,
      describe: 'seconds each step may run before it is killed and fails',
    });
}

export const timeThresholdOption = {
  type: 'number',
  default: DEFAULT_TIME_THRESHOLD.percent,
  describe: 'a stage or check this many percent (and 5 s) slower is a regression',
} as const;

export type GuestArgv = Common & {
  topology: string;
  image: string;
  accel: 'auto' | 'kvm' | 'tcg';
  init: 'minimal' | 'systemd';
  'boot-timeout'?: number;
  out: string;
  keep: boolean;
  append?: string;
  suite: string;
  only?: string;
  kernel?: string;
  expect?: string;
  'kernel-src'?: string;
  patches?: string;
  kconfig?: string[];
  exec?: string[];
  upload?: string[];
  kselftest?: string[];
  as?: 'root' | 'user';
  'step-timeout'?: number;
};

/**
 * --kernel stock|built|built:PATCHES, comma lists for a matrix: built takes
 * --patches, built:PATCHES its own patches (a folder under patches/, a file
 * or a path); every built kernel takes --kernel-src and --kconfig.
 */
export function kernelChoices(argv: GuestArgv): KernelChoice[] {
  const wantsBuild = argv['kernel-src'] !== undefined || argv.patches !== undefined || argv.kconfig !== undefined;
  const kinds = (argv.kernel ?? (wantsBuild ? 'built' : 'stock')).split(',').filter(Boolean);
  if (!kinds.length)
    throw new ConfigError(
      `--kernel ${JSON.stringify(argv.kernel)} names no kernel`,
      'use e.g. --kernel stock, --kernel built or --kernel stock,built:private-node',
    );
  for (const k of kinds)
    if (k !== 'stock' && k !== 'built' && !/^built:.+/.test(k))
      throw new ConfigError(
        `--kernel ${argv.kernel}: "${k}" is not stock, built or built:PATCHES`,
        'use e.g. --kernel stock,built,built:private-node',
      );
  if (!kinds.some((k) => k.startsWith('built')) && wantsBuild)
    throw new ConfigError(
      '--kernel stock cannot take --kernel-src, --patches or --kconfig',
      'add built to --kernel (e.g. --kernel stock,built)',
    );
  const expects = parseExpect(argv.expect, kinds);
  // The word names the kernel in reports and matrix cells, alone or not: a nightly's cells keep their names when the matrix changes.
  return kinds.map((k, i): KernelChoice => {
    const expect = expects[i] ? { expect: expects[i] } : {};
    if (k === 'stock') return { kind: 'stock', label: k, ...expect };
    const patches = k.startsWith('built:') ? k.slice('built:'.length) : argv.patches;
    return {
      kind: 'built',
      kernelSrc: argv['kernel-src'],
      patches,
      fragments: argv.kconfig ?? DEFAULT_FRAGMENTS,
      label: k,
      ...expect,
    };
  });
}

/** --expect PROFILE or P1,P2,... (one per kernel word) → a profile per kernel, or none given. */
export function parseExpect(text: string | undefined, kernels: string[]): (KernelProfile | undefined)[] {
  if (text === undefined) return kernels.map(() => undefined);
  const words = text.split(',').map((w) => w.trim());
  for (const w of words)
    if (!(PROFILES as readonly string[]).includes(w))
      throw new ConfigError(`--expect ${text}: "${w}" is no kernel profile`, `use ${PROFILES.join(', ')}`);
  if (words.length !== 1 && words.length !== kernels.length)
    throw new ConfigError(
      `--expect ${text}: ${words.length} profiles for ${kernels.length} kernels (${kernels.join(',')})`,
      'give one profile for every kernel, or one per --kernel word, in the same order',
    );
  return kernels.map((_, i) => (words.length === 1 ? words[0] : words[i]) as KernelProfile);
}

/** What a command prints on stdout, made inert for a CI log (report/markup.ts). */
export const print = (text: string): void => void process.stdout.write(inert(text));

export const splitWords = (text: string | undefined): string[] => text?.split(/\s+/).filter(Boolean) ?? [];

/** The options of one run; `run` passes matrix: true and replaces the topology and kernel per cell. */
export function runOptionsFrom(argv: GuestArgv, matrix = false): RunOptions {
  const { cacheDir, log } = common(argv);
  const kernels = kernelChoices(argv);
  if (!matrix && (kernels.length > 1 || argv.topology.includes(',')))
    throw new ConfigError('only `numacage run` takes several topologies or kernels');
  return {
    cacheDir,
    log,
    outDir: argv.out,
    topology: argv.topology,
    image: argv.image,
    accel: argv.accel,
    init: argv.init,
    bootTimeoutSeconds: argv['boot-timeout'],
    keep: argv.keep,
    kernel: kernels[0]!,
    append: splitWords(argv.append),
    invariants: selectInvariants(argv.suite, argv.only),
    ...(argv.exec?.length || argv.upload?.length || argv.kselftest?.length
      ? {
          steps: {
            exec: argv.exec ?? [],
            uploads: argv.upload ?? [],
            kselftests: argv.kselftest ?? [],
            as: argv.as ?? 'root',
            stepTimeoutSeconds: argv['step-timeout'] ?? DEFAULT_STEP_TIMEOUT_SECONDS,
          },
        }
      : {}),
  };
}

/** --for 30s|5m|1h|90 → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(s|m|h)?$/.exec(text.trim());
  if (!m || Number(m[1]) === 0)
    throw new ConfigError(`--for ${text}: not a duration`, 'write e.g. --for 30s, --for 5m or --for 1h');
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

/** Middleware for every command: yargs turns "abc" into NaN; the schema refuses it, and the message quotes what was typed. */
export function checkNumbers(argv: object): void {
  const r = NumericOptions.safeParse(argv);
  if (r.success) return;
  const issue = r.error.issues[0]!;
  const flag = `--${String(issue.path[0])}`;
  // --flag VALUE shows VALUE as typed; --flag=VALUE or a run config's value shows what was parsed.
  const at = process.argv.indexOf(flag);
  const typed = at >= 0 ? process.argv[at + 1] : String((argv as Record<string, unknown>)[String(issue.path[0])]);
  throw new ConfigError(
    `${flag} ${typed}: ${issue.message}`,
    `see numacage ${String((argv as { _?: unknown[] })._?.[0] ?? '')} --help`.replace('  ', ' '),
  );
}
