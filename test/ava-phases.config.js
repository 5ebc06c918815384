// npm test's ava (test/ava-phases.sh): the longest files first, so that the last file of the second
// phase does not run alone while its partner has nothing left (stock-run.test started last and ran
// alone for about 200 s). The rest is package.json's, which ava ignores when given a config file.
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';

const { ava } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const LONGEST_FIRST = [
  'private-node',
  'stock-run',
  'faults',
  'gitlab-ci',
  'devices',
  'steps',
  'repro',
  'kernel-build',
  'guests',
  'nightly',
];

const rank = (file) => {
  const i = LONGEST_FIRST.findIndex((name) => file.endsWith(`/${name}.test.js`));
  return i === -1 ? LONGEST_FIRST.length : i;
};

export default {
  ...ava,
  sortTestFiles: (a, b) => rank(a) - rank(b) || a.localeCompare(b),
};
