import { fixture } from './fixtures.js';

/** Flag values a careless user, an empty CI variable or an attacker gives (the CLI property and bench/hostile-inputs). */
export const HOSTILE_FLAG_VALUES = [
  '',
  ',',
  ' ',
  '__proto__',
  'toString',
  'constructor',
  '::set-output name=promote::true',
  '##[error]x',
  '<script>x</script>',
  '../../etc/passwd',
  '/dev/zero',
  '/etc',
  'a\nb',
  '\u001b[31m',
  'NaN',
  '-1',
  '1e400',
];

/** A recorded report under test/fixtures; a merged one's run directories (../shards/...) become runs/<i>, which merge takes. */
export function recordedReport(path: string): object {
  const doc = JSON.parse(fixture(path));
  if (doc.runs) doc.runs.forEach((r: { runDir: string }, i: number) => (r.runDir = `runs/${i}`));
  return doc as object;
}
