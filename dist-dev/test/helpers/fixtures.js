import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { projectPath } from '../../src/adapters/project.js';
export function fixture(...parts) {
    return readFileSync(projectPath('test', 'fixtures', ...parts), 'utf8');
}
/**
 * Compares text with a golden file under test/fixtures. UPDATE_GOLDEN=1
 * rewrites the file instead (review the diff before committing it).
 */
export function golden(actual, ...parts) {
    const path = projectPath('test', 'fixtures', ...parts);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
        if (process.env.CI && !existsSync(path))
            throw new Error(`golden file ${path} is missing`);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, actual);
    }
    return { actual, expected: readFileSync(path, 'utf8') };
}
//# sourceMappingURL=fixtures.js.map