import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
/** --cache-dir, else $NUMACAGE_CACHE, else $XDG_CACHE_HOME/numacage, else ~/.cache/numacage. */
export function resolveCacheDir(flag, env = process.env) {
    if (flag)
        return flag;
    if (env.NUMACAGE_CACHE)
        return env.NUMACAGE_CACHE;
    return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'numacage');
}
/**
 * A content-addressed store: <root>/<kind>/<key>/. Entries are built in a
 * staging directory beside them and renamed into place, so an interrupted
 * build never leaves a half entry.
 */
export class ContentStore {
    root;
    kind;
    constructor(root, kind) {
        this.root = root;
        this.kind = kind;
    }
    entryPath(key) {
        return join(this.root, this.kind, key);
    }
    async has(key) {
        try {
            return (await stat(join(this.entryPath(key), 'meta.json'))).isFile();
        }
        catch {
            return false;
        }
    }
    async stage(key) {
        const dir = join(this.root, this.kind, `.staging-${key.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
        await mkdir(dir, { recursive: true });
        return dir;
    }
    /** Moves a finished staging dir into place; meta.json must be written last by the caller. */
    async commit(staging, key) {
        const dest = this.entryPath(key);
        try {
            await rename(staging, dest);
        }
        catch (err) {
            // Another builder won the race with an identical entry: keep theirs.
            if (!(await this.has(key)))
                throw err;
            await rm(staging, { recursive: true, force: true });
        }
        return dest;
    }
    async discard(staging) {
        await rm(staging, { recursive: true, force: true });
    }
}
//# sourceMappingURL=cache-dir.js.map