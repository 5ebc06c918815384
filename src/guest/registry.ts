import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../adapters/runner.js';

/** What `numacage ssh` needs to reach a guest left up by `numacage boot`. */
export interface GuestRecord {
  id: string;
  pid: number;
  sshPort: number;
  privateKeyPath: string;
  hostKey: string;
  runDir: string;
  startedAt: string;
  /** The image's unprivileged users (`numacage ssh --as user`); absent in records from before. */
  users?: string[];
}

function dir(cacheDir: string): string {
  return join(cacheDir, 'guests');
}

export async function registerGuest(cacheDir: string, rec: GuestRecord): Promise<() => Promise<void>> {
  await mkdir(dir(cacheDir), { recursive: true });
  const path = join(dir(cacheDir), `${rec.id}.json`);
  await writeFile(path, JSON.stringify(rec, null, 2));
  return () => rm(path, { force: true });
}

const STRING_FIELDS = ['id', 'privateKeyPath', 'hostKey', 'runDir', 'startedAt'] as const;

/** A record as registerGuest wrote it, or undefined for anything else (cut short, edited, another tool's file). */
async function readRecord(path: string): Promise<GuestRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    const whole =
      Number.isInteger(r.pid) &&
      (r.pid as number) > 0 &&
      Number.isInteger(r.sshPort) &&
      (r.sshPort as number) >= 1 &&
      (r.sshPort as number) <= 65535 &&
      STRING_FIELDS.every((k) => typeof r[k] === 'string') &&
      (r.users === undefined || (Array.isArray(r.users) && r.users.every((u) => typeof u === 'string')));
    return whole ? (r as unknown as GuestRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Running guests, newest first; records of guests whose numacage is gone, and records that are not whole, are removed. */
export async function listGuests(cacheDir: string): Promise<GuestRecord[]> {
  let files: string[];
  try {
    files = await readdir(dir(cacheDir));
  } catch {
    return [];
  }
  const out: GuestRecord[] = [];
  for (const f of files.filter((x) => x.endsWith('.json'))) {
    const rec = await readRecord(join(dir(cacheDir), f));
    if (rec && processAlive(rec.pid)) out.push(rec);
    else await rm(join(dir(cacheDir), f), { force: true });
  }
  return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}
