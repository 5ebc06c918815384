import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPORT_OUTPUTS, type ReportSubject } from '../report/outputs.js';

/**
 * Writes every report file of the subject into dir; each file goes to a temporary name and
 * is renamed into place, so a reader never sees half a file. Returns what
 * was written, by file name.
 */
export async function writeReportFiles(dir: string, subject: ReportSubject): Promise<Map<string, string>> {
  const written = new Map<string, string>();
  const generatedAt = new Date().toISOString();
  for (const output of REPORT_OUTPUTS) {
    const name = output.file(subject.kind);
    const text = output.render(subject, generatedAt);
    if (text === undefined) continue;
    const tmp = join(dir, `.${name}.${process.pid}`);
    await writeFile(tmp, text);
    await rename(tmp, join(dir, name));
    written.set(name, text);
  }
  return written;
}
