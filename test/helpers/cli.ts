import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { projectPath } from '../../src/adapters/project.js';

export const CLI = projectPath('dist/src/cli/main.js');

/** The lean kernel (the default fragments, built by test/prebuild.ts): SSH in about 6 s, the stock kernel in 10-13 s. */
export const LEAN = ['--kernel', 'built'];

/** Runs numacage as a user would, with JSON logs on stderr. The cache is the user's (or $NUMACAGE_CACHE), so images and kernels are reused. */
export async function numacage(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string; all: string }> {
  const r = await execa('node', [CLI, '--json', ...args], { reject: false, all: true, env: opts.env, stdin: 'ignore' });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), all: String(r.all) };
}

/** The pids of QEMU processes whose command line mentions the given path. */
export function qemuProcessesMentioning(path: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(join('/proc', entry, 'cmdline'), 'utf8');
      if (cmdline.includes('qemu-system') && cmdline.includes(path)) pids.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return pids;
}

/** The pids of processes whose name (/proc/PID/comm) is `name`. */
export function processesNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(join('/proc', e, 'comm'), 'utf8').trim() === name;
      } catch {
        return false; // Exited meanwhile.
      }
    })
    .map(Number);
}

export function onlyRunDir(outDir: string): string {
  const dirs = readdirSync(outDir);
  if (dirs.length !== 1) throw new Error(`expected one run dir in ${outDir}, found ${dirs.join(', ') || 'none'}`);
  return join(outDir, dirs[0]!);
}

/** Resolves when a JSON log line on the child's stderr has the given msg. */
export function logLine(child: ResultPromise, msg: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          if (rec.msg === msg) return resolve(rec);
        } catch {
          // Partial or non-JSON line.
        }
      }
    });
    void child.then(() => reject(new Error(`numacage exited before logging "${msg}"`)));
  });
}

/** Staging dirs, locks and half-removed entries numacage makes at the top of its cache dirs (not files inside a kernel tree). */
export const leftovers = (root: string) =>
  execFileSync('find', [
    root,
    '-maxdepth',
    '3',
    '(',
    '-name',
    '*.staging-*',
    '-o',
    '-name',
    '.staging-*',
    '-o',
    '-name',
    '*.lock',
    '-o',
    '-name',
    '.removing-*',
    ')',
  ])
    .toString()
    .trim();

/** Whether pid is ancestor or one of its descendants (walking PPid up from pid). */
function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid; p > 1;) {
    if (p === ancestor) return true;
    try {
      p = Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1]);
    } catch {
      return false;
    }
  }
  return false;
}

/** Processes (make, gcc, ld, ccache...) whose working directory is under root, but for those of the process `except` and its descendants. */
export function processesWorkingUnder(root: string, except?: number): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(root) && !(except && descendsFrom(Number(pid), except)))
        found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 3).join(' ')}`);
    } catch {
      // Exited meanwhile, or a kernel thread.
    }
  }
  return found;
}
