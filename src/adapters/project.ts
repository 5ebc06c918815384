import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

/** The project's root (where images/, kconfigs/, patches/ and guest/ live), from dist/src/adapters. */
const PROJECT_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

export function projectPath(...parts: string[]): string {
  return join(PROJECT_ROOT, ...parts);
}
