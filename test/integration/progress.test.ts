import test from 'ava';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import { CLI } from '../helpers/cli.js';

// A terminal, for real: script(1) gives numacage a pseudo-terminal on stdout and stderr.
test.serial(
  'on a terminal a matrix is a live task list, one line per cell, and NO_COLOR leaves out colours',
  async (t) => {
    const out = await dir({ unsafeCleanup: true });
    const command = `stty rows 50 cols 160; node ${CLI} run --kernel built --topology private-virtio,three-node --suite smoke --out ${out.path}`;
    const r = await execa('script', ['-qec', command, '/dev/null'], {
      env: { NO_COLOR: '1' },
      reject: false,
      stdin: 'ignore',
    });
    t.is(r.exitCode, 0, r.stdout);
    const screen = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    for (const cell of ['private-virtio/built', 'three-node/built'])
      t.regex(
        screen,
        new RegExp(`✔ ${cell}  OK: 3/3 checks as expected, [\\d.]+ s \\[[\\dms. ]+\\]`),
        `${cell}'s line, with its time`,
      );
    t.regex(
      screen,
      /three-node\/built {2}boot \d+ s: TCG, SSH on port \d+/,
      'a line showed its stage and its time as it ran',
    );
    t.notRegex(screen, /guest answers SSH|running guests in parallel/, 'info log lines give way to the list');
    t.notRegex(r.stdout, /\x1b\[3[0-9]m/, 'NO_COLOR: no colour escapes');
    t.regex(screen, /private-virtio\/built\s+three-node\/built\r?\n/, 'the matrix table follows the list');
    await out.cleanup();
  },
);
