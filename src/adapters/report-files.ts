import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { REPORT_OUTPUTS, type ReportSubject } from '../report/outputs.js';

/**
 * Writes every report file of the subject into dir; each file goes to a temporary name and
 * is renamed into place, so a reader never sees half a file. Returns what
 * was written, by file name.
 */
/** Writes text to path through a temporary name beside it, renamed into place: never half a file. */
export async function writeWhole(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}`);
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export async function writeReportFiles(dir: string, subject: ReportSubject): Promise<Map<string, string>> {
  const written = new Map<string, string>();
  const generatedAt = new Date().toISOString();
  for (const output of REPORT_OUTPUTS) {
    const name = output.file(subject.kind);
    const text = output.render(subject, generatedAt);
    if (text === undefined) continue;
    await writeWhole(join(dir, name), text);
    written.set(name, text);
  }
  return written;
}
