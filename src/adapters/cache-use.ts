import { unlinkSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from './runner.js';

/** Entries ("kind/key") this process has recorded, by record file. */
const recorded = new Map<string, Set<string>>();

const inUseDir = (cacheDir: string) => join(cacheDir, 'host', 'in-use');

/**
 * Records that this process uses cache entries ("images/<key>",
 * "kernel-work/<key>", ...) in <cache>/host/in-use/<pid>, one a line, until
 * it exits: `cache gc` never removes them meanwhile. Call it before looking
 * whether the entry is there: gc looks at the records again after moving an
 * entry away, and puts it back when someone recorded it in between.
 */
export async function recordUse(cacheDir: string, ...entries: string[]): Promise<void> {
  const file = join(inUseDir(cacheDir), String(process.pid));
  // Every way out but SIGKILL runs 'exit'; gc drops the records of dead pids.
  if (recorded.size === 0) process.on('exit', forgetAll);
  let mine = recorded.get(file);
  if (!mine) recorded.set(file, (mine = new Set()));
  const fresh = entries.filter((e) => !mine.has(e));
  if (fresh.length === 0) return;
  await mkdir(inUseDir(cacheDir), { recursive: true });
  await appendFile(file, fresh.map((e) => `${e}\n`).join(''));
  for (const e of fresh) mine.add(e);
}

function forgetAll(): void {
  for (const file of recorded.keys()) {
    try {
      unlinkSync(file);
    } catch {
      // Already gone.
    }
  }
}

/** The entries live processes have recorded, each with their pids. The records of dead pids are removed. */
export async function liveUses(cacheDir: string): Promise<Map<string, number[]>> {
  const uses = new Map<string, number[]>();
  for (const name of await readdir(inUseDir(cacheDir)).catch(() => [] as string[])) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const file = join(inUseDir(cacheDir), name);
    if (!processAlive(pid)) {
      await rm(file, { force: true }).catch(() => undefined);
      continue;
    }
    const text = await readFile(file, 'utf8').catch(() => '');
    // A line without its newline is still being written: its process has not looked at the entry yet.
    for (const entry of text.split('\n').slice(0, -1)) uses.set(entry, [...(uses.get(entry) ?? []), pid]);
  }
  return uses;
}
