import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
/** The project's root (where images/, kconfigs/, patches/ and guest/ live), from dist/src/adapters. */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export function projectPath(...parts) {
    return join(PROJECT_ROOT, ...parts);
}
//# sourceMappingURL=project.js.map