import { unlinkSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from './runner.js';

let unclean: Promise<boolean> | undefined;

/**
 * Whether a numacage using this cache died without cleaning up (SIGKILL, a
 * power cut) since the last run: then cache entries are hashed in full
 * before use, not only stat'ed. Each process leaves a marker named by its pid
 * in <cache>/host/sessions while it runs; a marker of a dead pid is the sign.
 */
export function previousExitWasUnclean(cacheDir: string): Promise<boolean> {
  return (unclean ??= (async () => {
    const dir = join(cacheDir, 'host', 'sessions');
    await mkdir(dir, { recursive: true });
    let found = false;
    for (const name of await readdir(dir)) {
      const pid = Number(name);
      if (pid === process.pid || (pid && processAlive(pid))) continue;
      found = true;
      await rm(join(dir, name), { force: true });
    }
    const marker = join(dir, String(process.pid));
    await writeFile(marker, new Date().toISOString());
    // Every way out but SIGKILL runs 'exit' (SIGINT and SIGTERM end in process.exit).
    process.on('exit', () => {
      try {
        unlinkSync(marker);
      } catch {
        // Already gone.
      }
    });
    return found;
  })());
}
