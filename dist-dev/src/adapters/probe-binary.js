import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../model/errors.js';
import { ContentStore } from './cache-dir.js';
import { projectPath } from './project.js';
import { runCommand } from './runner.js';
export const PROBE_SOURCE = 'guest/probe/probe.c';
export const GUEST_PROBE_PATH = '/usr/local/bin/numacage-probe';
/** The static guest probe, compiled on the host into the cache, keyed by its source. */
export async function ensureProbeBinary(cacheDir) {
    const source = await readFile(projectPath(PROBE_SOURCE));
    const key = createHash('sha256').update(source).digest('hex').slice(0, 24);
    const store = new ContentStore(cacheDir, 'probe');
    const path = join(store.entryPath(key), 'numacage-probe');
    if (!(await store.has(key))) {
        const staging = await store.stage(key);
        try {
            const out = join(staging, 'numacage-probe');
            const r = await runCommand('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-static', '-o', out, projectPath(PROBE_SOURCE)]);
            if (r.exitCode !== 0)
                throw new InfraError(`building the guest probe failed:\n${r.stderr.trim()}`, 'install gcc and libc6-dev (numacage doctor --install)');
            await writeFile(join(staging, 'meta.json'), JSON.stringify({ key }));
            await store.commit(staging, key);
        }
        catch (err) {
            await store.discard(staging);
            throw err;
        }
    }
    return { path, sha256: createHash('sha256').update(await readFile(path)).digest('hex') };
}
//# sourceMappingURL=probe-binary.js.map