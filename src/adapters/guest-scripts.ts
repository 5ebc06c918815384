import { readFileSync } from 'node:fs';
import { projectPath } from './project.js';

const texts = new Map<string, string>();

/** The text of a file of guest/scripts/, read once. */
export function readGuestScript(file: string): string {
  let text = texts.get(file);
  if (text === undefined) texts.set(file, (text = readFileSync(projectPath('guest', 'scripts', file), 'utf8')));
  return text;
}
