import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../model/errors.js';

/** No file a user hands numacage (topology, config, recipe, report, patch, fragment, reproducer) is this large. */
const MAX_USER_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a file a user names, as text: a regular file of sane size only, so
 * that a FIFO waits for no writer and /dev/zero does not fill memory.
 * `what` names it in the error ("topology file", "--patches").
 */
export function readUserFile(path: string, what: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  if (!st.isFile())
    throw new ConfigError(
      `${what} ${path} is not a regular file (${st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : 'a device or socket'})`,
      'give the path of a file',
    );
  if (st.size > MAX_USER_FILE_BYTES)
    throw new ConfigError(`${what} ${path} is ${st.size} bytes, more than the ${MAX_USER_FILE_BYTES} numacage reads`);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Reads a user's JSON file (topology, recipe, run config); `what` names it in the error. */
export function readJsonFile(path: string, what: string): unknown {
  const text = readUserFile(path, what);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Checks, before any work, that `path` can take what numacage will append
 * to it at the end (a Markdown summary): its directory exists, and it is a
 * regular file if it exists at all.
 */
export function assertAppendable(path: string, what: string): void {
  const dir = statSync(dirname(path), { throwIfNoEntry: false });
  if (!dir?.isDirectory())
    throw new ConfigError(`${what} ${path}: the directory ${dirname(path)} does not exist`, 'create it first');
  const st = statSync(path, { throwIfNoEntry: false });
  if (st && !st.isFile()) throw new ConfigError(`${what} ${path} is not a regular file`, 'give the path of a file');
}
