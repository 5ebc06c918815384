import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { dir } from 'tmp-promise';
import { WorkTree, resolveSource } from '../../src/adapters/kernel-source.js';
import { silentLogger } from '../../src/log.js';

// Real git and patch on a tiny tree shaped like a kernel's (Kconfig and merge_config.sh are all
// resolveSource looks for): no build, so it runs in a second.
const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@t',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@t',
};
const log = silentLogger();

function diffPatch(file: string, before: string, after: string): string {
  return `--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n-${before}\n+${after}\n`;
}

test("the work tree keeps the user's uncommitted and untracked changes across patch sets; their checkout is untouched", async (t) => {
  const tmp = await dir({ unsafeCleanup: true });
  const repo = join(tmp.path, 'linux');
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, ...args], { env: { ...process.env, ...GIT_IDENTITY } }).toString();
  mkdirSync(join(repo, 'scripts', 'kconfig'), { recursive: true });
  mkdirSync(join(repo, 'mm'));
  writeFileSync(join(repo, 'Kconfig'), 'mainmenu "x"\n');
  writeFileSync(join(repo, 'scripts', 'kconfig', 'merge_config.sh'), '#!/bin/sh\n');
  writeFileSync(join(repo, 'mm', 'a.c'), 'committed a\n');
  writeFileSync(join(repo, 'mm', 'b.c'), 'committed b\n');
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'base');
  // The user's work in progress: an edit to a tracked file and a new file, neither committed.
  writeFileSync(join(repo, 'mm', 'a.c'), 'user edit of a\n');
  writeFileSync(join(repo, 'mm', 'new.c'), 'user new file\n');

  const resolved = await resolveSource(repo);
  t.regex(resolved.key, /-dirty-/);
  writeFileSync(join(repo, 'mm', 'new.c'), 'user new file, edited\n');
  t.not((await resolveSource(repo)).key, resolved.key, 'untracked content is part of the source key');
  writeFileSync(join(repo, 'mm', 'new.c'), 'user new file\n');

  const cache = await dir({ unsafeCleanup: true });
  const tree = new WorkTree(cache.path, resolved);
  await tree.prepare(log);
  const read = (f: string) => readFileSync(join(tree.src, f), 'utf8');
  t.is(read('mm/a.c'), 'user edit of a\n');
  t.is(read('mm/new.c'), 'user new file\n');

  // Patch set 1 edits the user's edited file and their new file; patch set 2 touches only b.c.
  await tree.apply([
    {
      name: 'p1',
      text: diffPatch('mm/a.c', 'user edit of a', 'patched a') + diffPatch('mm/new.c', 'user new file', 'patched new'),
    },
  ]);
  t.is(read('mm/a.c'), 'patched a\n');
  t.is(read('mm/new.c'), 'patched new\n');
  await tree.apply([{ name: 'p2', text: diffPatch('mm/b.c', 'committed b', 'patched b') }]);
  t.is(read('mm/a.c'), 'user edit of a\n', "the user's edit is back, not HEAD's version");
  t.is(read('mm/new.c'), 'user new file\n', 'the untracked file is back');
  t.is(read('mm/b.c'), 'patched b\n');
  await tree.reset();
  t.is(read('mm/b.c'), 'committed b\n');

  // The user's checkout: same HEAD, same uncommitted state, no new branch or worktree.
  t.deepEqual(git('status', '--porcelain').trimEnd().split('\n').sort(), [' M mm/a.c', '?? mm/new.c']);
  t.is(git('rev-list', '--count', 'HEAD').trim(), '1');
  await cache.cleanup();
  await tmp.cleanup();
});
