import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { projectPath } from '../../src/adapters/project.js';

export function fixture(...parts: string[]): string {
  return readFileSync(projectPath('test', 'fixtures', ...parts), 'utf8');
}

/**
 * Compares text with a golden file under test/fixtures; a missing one is an
 * error. UPDATE_GOLDEN=1 (re)writes the file instead (review the diff before
 * committing it).
 */
export function golden(actual: string, ...parts: string[]): { actual: string; expected: string } {
  const path = projectPath('test', 'fixtures', ...parts);
  if (!existsSync(path) && process.env.UPDATE_GOLDEN !== '1')
    throw new Error(`golden file ${path} is missing: write it with UPDATE_GOLDEN=1 and review it`);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
  }
  return { actual, expected: readFileSync(path, 'utf8') };
}
