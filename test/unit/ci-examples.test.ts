import test from 'ava';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { parse } from 'yaml';
import { projectPath } from '../../src/adapters/project.js';
import { CLI } from '../helpers/cli.js';

/*
 * The nightly-CI recipes in examples/ci/ (and the commands in docs/ci.md) are checked against the
 * real CLI. First their structure: schedule, shards, cache keys, artifacts, and job order. Then each
 * numacage invocation in their shell scripts: the command must exist, and every flag it passes must
 * be an option of that command, as the command's own `--help` lists them.
 * CI values (`${{ ... }}`, `$VAR`) cannot be expanded here: they are opaque values.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

const read = (path: string) => readFileSync(projectPath(path), 'utf8');
const GITHUB = 'examples/ci/github-actions.yml';
const GITLAB = 'examples/ci/gitlab-ci.yml';
const DOCS = 'docs/ci.md';

// ---------------------------------------------------------------------------------------------
// Shell scanning: numacage invocations in a run:/script: text.

type Token = { op: string } | { word: string };

/** `$(...)` from just after its `(`: the inner text and the index after its `)`. */
function balanced(src: string, from: number): [string, number] {
  let depth = 1;
  for (let i = from; i < src.length; i++) {
    if (src[i] === '(') depth++;
    else if (src[i] === ')' && --depth === 0) return [src.slice(from, i), i + 1];
  }
  return [src.slice(from), src.length];
}

/**
 * Splits shell text into words and operators: quotes are removed, a `#` at the start of a word
 * ends the line, a backslash-newline joins lines, and the text of each `$(...)` goes to subs to be
 * scanned too. Redirections come out as operators that take the next word.
 */
function lex(src: string, subs: string[]): Token[] {
  const out: Token[] = [];
  let word = '';
  let inWord = false;
  const flush = () => {
    if (inWord) out.push({ word });
    word = '';
    inWord = false;
  };
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\' && src[i + 1] === '\n') { i += 2; continue; }
    if (c === ' ' || c === '\t' || c === '\r') { flush(); i++; continue; }
    if (c === '\n') { flush(); out.push({ op: '\n' }); i++; continue; }
    if (c === '#' && !inWord) { while (i < src.length && src[i] !== '\n') i++; continue; }
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      word += src.slice(i + 1, end < 0 ? src.length : end);
      inWord = true;
      i = end < 0 ? src.length : end + 1;
      continue;
    }
    if (c === '"') {
      inWord = true;
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < src.length) { word += src[i + 1]; i += 2; continue; }
        if (src[i] === '$' && src[i + 1] === '(') {
          const [inner, next] = balanced(src, i + 2);
          subs.push(inner);
          word += `$(${inner})`;
          i = next;
          continue;
        }
        word += src[i];
        i++;
      }
      i++;
      continue;
    }
    if (c === '$' && src[i + 1] === '(') {
      const [inner, next] = balanced(src, i + 2);
      subs.push(inner);
      word += `$(${inner})`;
      inWord = true;
      i = next;
      continue;
    }
    if (c === '\\') { word += src[i + 1] ?? ''; inWord = true; i += 2; continue; }
    const rest = src.slice(i);
    const redirect = /^(?:\d*>&\d+|&>>?|\d*>>?|\d*<)/.exec(rest);
    if (redirect && (!inWord || !/\d/.test(c))) {
      flush();
      out.push({ op: redirect[0] });
      i += redirect[0].length;
      continue;
    }
    const op = /^(?:&&|\|\||;;|[;&|()])/.exec(rest);
    if (op) { flush(); out.push({ op: op[0] }); i += op[0].length; continue; }
    word += c;
    inWord = true;
    i++;
  }
  flush();
  return out;
}

const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', '!', 'time', '{', '}']);

/** The words of each simple command in the text (and in its command substitutions), keywords and leading VAR=value left out. */
function simpleCommands(src: string): string[][] {
  const subs: string[] = [];
  const tokens = lex(src, subs);
  const commands: string[][] = [];
  let words: string[] = [];
  const end = () => {
    while (words.length && (KEYWORDS.has(words[0]!) || /^[A-Za-z_]\w*=/.test(words[0]!))) words.shift();
    if (words.length) commands.push(words);
    words = [];
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if ('word' in t) words.push(t.word);
    else if (/[<>]/.test(t.op)) {
      if (!/&\d+$/.test(t.op)) i++; // the redirection's target
    } else end();
  }
  end();
  return [...commands, ...subs.flatMap(simpleCommands)];
}

/** Drops the programs that run the next word as a command: sudo, env, timeout, nice, ... */
function unwrap(words: string[]): string[] {
  const w = [...words];
  for (;;) {
    if (['sudo', 'exec', 'command', 'nohup', 'time'].includes(w[0]!)) w.shift();
    else if (w[0] === 'env' || w[0] === 'nice' || w[0] === 'timeout') {
      const wrapper = w.shift();
      while (w.length && (w[0]!.startsWith('-') || /^[A-Za-z_]\w*=/.test(w[0]!))) w.shift();
      if (wrapper === 'timeout') w.shift(); // its duration
    } else return w;
  }
}

/** The arguments after the program when a command runs numacage, else undefined. */
function numacageArgs(command: string[]): string[] | undefined {
  const [program, ...rest] = unwrap(command);
  if (program === undefined) return undefined;
  if (program === 'node' && /(^|\/)dist\/src\/cli\/main\.js$/.test(rest[0] ?? '')) return rest.slice(1);
  if (program === 'numacage' || program.endsWith('/numacage') || program.endsWith('dist/src/cli/main.js')) return rest;
  if (program === 'npx' && rest[0] === 'numacage') return rest.slice(1);
  if (program === 'npm' && rest[0] === 'run') {
    const at = rest.indexOf('numacage');
    if (at > 0 && rest.slice(1, at).every((w) => w.startsWith('-'))) {
      const after = rest.slice(at + 1);
      return after[0] === '--' ? after.slice(1) : after;
    }
  }
  return undefined;
}

/** Replaces each GitHub expression with one space-free opaque word. */
const opaqueExpressions = (src: string) => src.replace(/\$\{\{[\s\S]*?\}\}/g, (m) => m.replace(/\s+/g, ''));

/** Every numacage invocation in a script text: its arguments. */
function invocations(script: string): string[][] {
  return simpleCommands(opaqueExpressions(script)).flatMap((w) => {
    const args = numacageArgs(w);
    return args ? [args] : [];
  });
}

/** Commands whose program looks like numacage but that the scanner cannot read (e.g. `$NUMACAGE run`): they would go unchecked. */
function unreadable(script: string): string[] {
  return simpleCommands(opaqueExpressions(script))
    .filter((w) => !numacageArgs(w) && /numacage|cli\/main\.js/i.test(unwrap(w)[0] ?? ''))
    .map((w) => w.join(' '));
}

// ---------------------------------------------------------------------------------------------
// The CLI's own account of itself: `numacage [command...] --help`, parsed.

interface OptionSpec { names: string[]; takesValue: boolean; array: boolean; choices?: string[] }
interface Help { usage: string; commands: string[][]; positionals: { name: string; variadic: boolean; choices?: string[] }[]; options: Map<string, OptionSpec> }

const choicesIn = (text: string) => {
  const m = /\[choices: ([^\]]*)\]/.exec(text);
  return m ? [...m[1]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]!) : undefined;
};

/** yargs help: a usage line, then sections (Commands:, Positionals:, Options:) of entries, each an entry line and its wrapped continuation lines. */
function parseHelp(text: string): Help {
  const lines = text.split('\n');
  const usage = lines.find((l) => l.trim())?.trim() ?? '';
  const entries: { section: string; text: string }[] = [];
  let section = '';
  const starts: Record<string, RegExp> = {
    Commands: /^ {2}numacage\s/,
    Positionals: /^ {2}[A-Za-z]/,
    Options: /^ {2}(?:-[A-Za-z0-9](?:, |\s)| {4}--[A-Za-z0-9])/,
  };
  for (const line of lines) {
    const header = /^([A-Z][A-Za-z ]*):\s*$/.exec(line);
    if (header) { section = header[1]!; continue; }
    const start = starts[section];
    if (!start) continue;
    if (start.test(line)) entries.push({ section, text: line });
    else if (/^ {3,}\S/.test(line) && entries.length && entries.at(-1)!.section === section) entries.at(-1)!.text += ` ${line.trim()}`;
  }
  const commands = entries.filter((e) => e.section === 'Commands').map((e) => {
    const words = e.text.trim().split(/\s{2,}/)[0]!.split(/\s+/);
    const path: string[] = [];
    for (const w of words.slice(1)) {
      if (/^[<[]/.test(w)) break;
      path.push(w);
    }
    return path;
  });
  const positionalText = new Map(entries.filter((e) => e.section === 'Positionals').map((e) => [e.text.trim().split(/\s+/)[0]!, e.text]));
  const positionals = [...usage.matchAll(/[<[]([\w-]+)(\.\.)?[>\]]/g)].map((m) => ({ name: m[1]!, variadic: m[2] === '..', choices: choicesIn(positionalText.get(m[1]!) ?? '') }));
  const options = new Map<string, OptionSpec>();
  for (const e of entries.filter((x) => x.section === 'Options')) {
    const flags = e.text.trim().split(/\s{2,}/)[0]!;
    const names = [...flags.matchAll(/--?([A-Za-z0-9][\w-]*)/g)].map((m) => m[1]!);
    const spec: OptionSpec = { names, takesValue: !/\[(?:boolean|count)\]/.test(e.text), array: /\[array\]/.test(e.text), choices: choicesIn(e.text) };
    for (const n of names) options.set(n, spec);
  }
  return { usage, commands, positionals, options };
}

const helps = new Map<string, Promise<Help>>();

function helpOf(path: string[]): Promise<Help> {
  const key = path.join(' ');
  let h = helps.get(key);
  if (!h) {
    h = execa('node', [CLI, ...path, '--help'], { reject: false, stdin: 'ignore', env: { FORCE_COLOR: '0' } }).then((r) => {
      if (r.exitCode !== 0) throw new Error(`numacage ${key} --help exited ${r.exitCode}: ${String(r.stderr)}`);
      return parseHelp(String(r.stdout));
    });
    helps.set(key, h);
  }
  return h;
}

/** A value CI fills in at run time: not checkable here. */
const opaque = (v: string) => v.includes('$');

/**
 * What is wrong with one invocation (its arguments after the program), by the CLI's own help:
 * an unknown command, subcommand or action, an option the command lacks, an option given no
 * value, a literal value outside an option's or action's choices.
 */
async function problemsOf(args: string[]): Promise<string[]> {
  const shown = `numacage ${args.join(' ')}`;
  const top = await helpOf([]);
  const problems: string[] = [];
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) {
    const spec = top.options.get(args[i]!.replace(/^--?/, '').split('=')[0]!);
    if (!spec) return [`${shown}: ${args[i]} is not a global option (numacage --help)`];
    i += spec.takesValue && !args[i]!.includes('=') ? 2 : 1;
  }
  const command = args[i];
  const known = top.commands.map((c) => c[0]!);
  if (command === undefined) return [`${shown}: no command`];
  if (!known.includes(command)) return [`${shown}: "${command}" is not a numacage command (it has: ${known.join(', ')})`];
  const path = [command];
  i++;
  let help = await helpOf(path);
  // Subcommands (`numacage cache gc` as a command of its own).
  for (;;) {
    const subs = help.commands.filter((c) => c.length === path.length + 1 && path.every((w, k) => c[k] === w)).map((c) => c.at(-1)!);
    if (!subs.length) break;
    const sub = args[i];
    if (sub === undefined || !subs.includes(sub)) return [`${shown}: "${sub ?? ''}" is not a subcommand of numacage ${path.join(' ')} (it has: ${subs.join(', ')})`];
    path.push(sub);
    i++;
    help = await helpOf(path);
  }
  const where = `numacage ${path.join(' ')}`;
  const positionals = help.positionals.filter((p) => p.name !== 'options');
  let positional = 0;
  let flagsDone = false;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (!flagsDone && arg === '--') { flagsDone = true; continue; }
    if (!flagsDone && /^--?[A-Za-z0-9]/.test(arg)) {
      const [rawName, inline] = arg.replace(/^--?/, '').split(/=(.*)/s) as [string, string | undefined];
      let spec = help.options.get(rawName);
      if (!spec && rawName.startsWith('no-')) {
        const negated = help.options.get(rawName.slice(3));
        if (negated && !negated.takesValue) spec = negated;
      }
      if (!spec) {
        problems.push(`${shown}: ${arg.split('=')[0]} is not an option of ${where} (it has: ${[...new Set([...help.options.values()].map((o) => `--${o.names.at(-1)}`))].join(' ')})`);
        // Its value, if it has one, is no positional.
        if (inline === undefined && i + 1 < args.length && !args[i + 1]!.startsWith('-')) i++;
        continue;
      }
      if (!spec.takesValue || rawName.startsWith('no-')) continue;
      const values: string[] = [];
      if (inline !== undefined) values.push(inline);
      else {
        while (i + 1 < args.length && !/^--?[A-Za-z0-9]/.test(args[i + 1]!) && args[i + 1] !== '--') {
          values.push(args[++i]!);
          if (!spec.array) break;
        }
        if (!values.length) problems.push(`${shown}: ${arg} takes a value and is given none`);
      }
      for (const v of values)
        if (spec.choices && !opaque(v) && !spec.choices.includes(v)) problems.push(`${shown}: ${arg} ${v}: not one of ${spec.choices.join(', ')}`);
      continue;
    }
    const p = positional < positionals.length ? positionals[positional] : positionals.at(-1)?.variadic ? positionals.at(-1) : undefined;
    if (!p) problems.push(`${shown}: unexpected argument "${arg}" (usage: ${help.usage})`);
    else if (p.choices && !opaque(arg) && !p.choices.includes(arg)) problems.push(`${shown}: "${arg}" is not a value of <${p.name}> of ${where} (it takes: ${p.choices.join(', ')})`);
    if (p && !p.variadic) positional++;
  }
  return problems;
}

/** Every invocation in the scripts, with the problems of each (a command the scanner cannot read is one). */
async function check(scripts: string[]): Promise<{ invocations: string[][]; problems: string[] }> {
  const found = scripts.flatMap(invocations);
  const problems = [
    ...scripts.flatMap(unreadable).map((c) => `${c}: runs numacage in a form this test cannot read; write node dist/src/cli/main.js ... or numacage ...`),
    ...(await Promise.all(found.map(problemsOf))).flat(),
  ];
  return { invocations: found, problems };
}

/** The command words of an invocation and the long flags it uses: `cache gc --max-size`. */
const commandLine = (args: string[]) => {
  const words = args.filter((a) => !a.startsWith('-'));
  return { command: words[0] === 'cache' ? `cache ${words[1]}` : words[0]!, flags: args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!) };
};

// ---------------------------------------------------------------------------------------------
// The examples as data.

interface Step { name?: string; id?: string; uses?: string; run?: string; if?: string; with?: Obj }

function github() {
  const doc = obj(parse(read(GITHUB)));
  const jobs = obj(doc.jobs);
  const job = (name: string) => obj(jobs[name]);
  const steps = (name: string) => list(job(name).steps).map((s) => obj(s) as Step);
  const scripts = Object.keys(jobs).flatMap((j) => steps(j).flatMap((s) => (typeof s.run === 'string' ? [s.run] : [])));
  return { doc, jobs, job, steps, scripts };
}

const GITLAB_KEYWORDS = new Set(['default', 'include', 'stages', 'variables', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script', 'spec']);

function gitlab() {
  const doc = obj(parse(read(GITLAB)));
  const jobs = Object.fromEntries(Object.entries(doc).filter(([k, v]) => !GITLAB_KEYWORDS.has(k) && !k.startsWith('.') && isObj(v))) as Record<string, Obj>;
  const lines = (v: unknown): string[] => list(v).flatMap((x) => (Array.isArray(x) ? lines(x) : [str(x)]));
  const scriptsOf = (j: Obj) => [...lines(j.before_script ?? obj(doc.default).before_script), ...lines(j.script), ...lines(j.after_script ?? obj(doc.default).after_script)];
  const scripts = Object.values(jobs).flatMap(scriptsOf);
  return { doc, jobs, scriptsOf, scripts };
}

/** The fenced sh/bash/console blocks of a Markdown file. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```(?:sh|bash|shell)\s*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

const DEBIAN_12 = /^(?:debian:(?:12|bookworm)(?:[-.].*)?|node:\d+(?:\.\d+)*-bookworm(?:-slim)?)$/;
const containerImage = (job: Obj) => (isObj(job.container) ? str(job.container.image) : str(job.container));

// ---------------------------------------------------------------------------------------------
// The scanner and the checker themselves.

test('scanner: finds numacage in every form, through continuations, chains and $(...), and nothing in comments, quotes or other programs', (t) => {
  const script = [
    '# numacage run --not-this-one (a comment)',
    'echo "numacage run --nor-this: it is quoted"',
    'test -f dist/src/cli/main.js && node dist/src/cli/main.js cache verify',
    'node dist/src/cli/main.js run --topology "$TOPOLOGIES" \\',
    '  --kernel stock,built:private-node --shard ${{ matrix.shard }}/${{ strategy.job-total }} --out shards/1 2>&1 | tee run.log',
    'if [ -f x ]; then npm run --silent numacage -- doctor --install; fi',
    'out=$(numacage merge shards/* --out merged) || exit 1',
    "FOO=1 npx numacage compare 'base line' merged --markdown \"$GITHUB_STEP_SUMMARY\" >> log.txt # trailing comment --x",
    'cat <<< "node dist/src/cli/main.js --quoted"',
    'timeout 3h env A=1 node ./dist/src/cli/main.js cache verify',
  ].join('\n');
  t.deepEqual(invocations(script), [
    ['cache', 'verify'],
    ['run', '--topology', '$TOPOLOGIES', '--kernel', 'stock,built:private-node', '--shard', '${{matrix.shard}}/${{strategy.job-total}}', '--out', 'shards/1'],
    ['doctor', '--install'],
    ['compare', 'base line', 'merged', '--markdown', '$GITHUB_STEP_SUMMARY'],
    ['cache', 'verify'],
    ['merge', 'shards/*', '--out', 'merged'],
  ]);
  t.deepEqual(unreadable(script), []);
  t.deepEqual(unreadable('"$NUMACAGE" run --out x\nsudo ./numacage.sh run'), ['$NUMACAGE run --out x', 'sudo ./numacage.sh run']);
});

test('help parser: options with aliases, types and wrapped choices; commands; positional choices', (t) => {
  const h = parseHelp([
    'numacage cache <action> [more..]',
    '',
    'what it does',
    '',
    'Commands:',
    '  numacage cache gc   trim the cache',
    '  numacage cache ls   list it',
    '',
    'Positionals:',
    '  action                                   [required] [choices: "verify", "gc",',
    '                                                                          "ls"]',
    '',
    'Options:',
    '  -t, --topology  a topology, with --exec mentioned at the start of a wrapped',
    '                  line                                               [string]',
    '      --keep      keep it                          [boolean] [default: false]',
    '      --accel     auto uses KVM     [choices: "auto", "kvm", "tcg"] [default:',
    '                  "auto"]',
    '      --kconfig   fragments                                           [array]',
  ].join('\n'));
  t.deepEqual(h.commands, [['cache', 'gc'], ['cache', 'ls']]);
  t.deepEqual(h.positionals, [{ name: 'action', variadic: false, choices: ['verify', 'gc', 'ls'] }, { name: 'more', variadic: true, choices: undefined }]);
  t.deepEqual([...h.options.keys()], ['t', 'topology', 'keep', 'accel', 'kconfig']);
  t.like(h.options.get('t'), { takesValue: true, array: false });
  t.like(h.options.get('keep'), { takesValue: false });
  t.deepEqual(h.options.get('accel')!.choices, ['auto', 'kvm', 'tcg']);
  t.like(h.options.get('kconfig'), { takesValue: true, array: true });
});

test('checker: commands of today pass against the real CLI; a made-up flag, command, action or choice is reported', async (t) => {
  const good = [
    ['run', '--topology', 'private-virtio,private-movable', '--kernel', 'stock,built:private-node', '--out', 'shards/$CI_NODE_INDEX'],
    ['run', '-t', 'private-virtio', '--no-keep', '--accel', 'tcg', '--kconfig', 'guest-base', 'numa-mm', '--json', '--out=x'],
    ['doctor', '--install'],
    ['--json', 'doctor'],
    ['cache', 'verify'],
    ['cache', 'verify', '--cache-dir', '$NUMACAGE_CACHE'],
    ['compare', 'a', 'b'],
    ['plan', '--format', 'json'],
    ['ssh', '--user', 'root', '--', 'ls', '--not-a-flag-after-double-dash'],
  ];
  for (const args of good) t.deepEqual(await problemsOf(args), [], args.join(' '));

  const bad: [string[], RegExp][] = [
    [['run', '--topology', 'a', '--made-up-flag', 'x'], /--made-up-flag is not an option of numacage run/],
    [['run', '--made-up-flag=x'], /--made-up-flag is not an option of numacage run/],
    [['doctor', '--install', '--topology', 'x'], /--topology is not an option of numacage doctor/],
    [['no-such-command', '--out', 'x'], /"no-such-command" is not a numacage command/],
    [['cache', 'no-such-action'], /"no-such-action" is not a (value of <action>|subcommand) of numacage cache/],
    [['plan', 'stray'], /unexpected argument "stray"/],
    [['run', '--accel', 'warp'], /--accel warp: not one of auto, kvm, tcg/],
    [['run', '--out'], /--out takes a value and is given none/],
    [['run', '--out', '--keep'], /--out takes a value and is given none/],
    [['--made-up-global', 'run'], /--made-up-global is not a global option/],
  ];
  for (const [args, message] of bad) {
    const problems = await problemsOf(args);
    t.true(problems.some((p) => message.test(p)), `${args.join(' ')}: ${problems.join('; ') || 'no problem reported'}`);
  }
  // And through the scanner, as the examples go.
  const { problems } = await check(['node dist/src/cli/main.js run --topology x --made-up-flag 1 --out runs']);
  t.is(problems.length, 1);
  t.regex(problems[0]!, /--made-up-flag/);
});

// ---------------------------------------------------------------------------------------------
// GitHub Actions.

test(`${GITHUB}: nightly schedule, two shards in Debian 12 containers, cache keyed on the inputs, artifacts always, merge then compare`, (t) => {
  const { doc, jobs, job, steps } = github();
  const on = obj(doc.on);
  t.true(list(on.schedule).some((s) => typeof obj(s).cron === 'string'), 'on.schedule has a cron');
  t.true('workflow_dispatch' in on, 'on.workflow_dispatch');

  for (const name of Object.keys(jobs)) t.regex(containerImage(job(name)), DEBIAN_12, `job ${name} runs in a Debian 12 container`);

  const shard = job('shard');
  const strategy = obj(shard.strategy);
  t.deepEqual(obj(strategy.matrix).shard, [1, 2]);
  t.is(strategy['fail-fast'], false);

  const s = steps('shard');
  const at = (pred: (x: Step) => boolean, what: string) => {
    const i = s.findIndex(pred);
    t.true(i >= 0, `shard has a step that ${what}`);
    return i;
  };
  const restore = at((x) => /^actions\/cache(\/restore)?@/.test(x.uses ?? ''), 'restores the cache');
  const key = str(obj(s[restore]!.with).key);
  t.regex(key, /hashFiles\(/);
  for (const input of ['images/', 'kconfigs/', 'patches/', 'package-lock.json']) t.true(key.includes(input), `the cache key hashes ${input}`);
  t.regex(key, /matrix\.shard/, 'each shard has its own cache');
  t.true(str(obj(s[restore]!.with)['restore-keys']).trim().length > 0, 'restore-keys for partial hits');
  const install = at((x) => /bash \.ci\/install/.test(x.run ?? ''), 'runs .ci/install');
  const run = at((x) => invocations(x.run ?? '').some((a) => a[0] === 'run'), 'runs numacage run');
  const gc = at((x) => invocations(x.run ?? '').some((a) => a[0] === 'cache' && a[1] === 'gc'), 'runs numacage cache gc');
  const save = s.findIndex((x) => /^actions\/cache\/save@/.test(x.uses ?? ''));
  const upload = at((x) => /^actions\/upload-artifact@/.test(x.uses ?? ''), 'uploads the shard');
  t.true(install < run && restore < run && run < gc, 'install and restore, then run, then gc');
  if (save >= 0) {
    t.true(gc < save, 'cache gc before the cache is saved');
    t.regex(str(s[save]!.if), /always\(\)|!\s*cancelled\(\)/, 'the cache is saved after a failed check too');
  }
  t.regex(str(s[gc]!.if), /always\(\)|!\s*cancelled\(\)/, 'gc runs after a failed check too');
  const runArgs = invocations(s[run]!.run!).find((a) => a[0] === 'run')!;
  t.is(runArgs[runArgs.indexOf('--shard') + 1], '${{matrix.shard}}/${{strategy.job-total}}');
  const out = runArgs[runArgs.indexOf('--out') + 1]!;
  t.regex(str(s[upload]!.if), /always\(\)/, 'the shard is uploaded even when a check failed');
  t.is(opaqueExpressions(str(obj(s[upload]!.with).path)), out, 'the upload is the --out directory');
  t.regex(str(obj(s[upload]!.with).name), /matrix\.shard/);

  const merge = job('merge');
  t.deepEqual(list(merge.needs), ['shard']);
  t.regex(str(merge.if), /always\(\)|!\s*cancelled\(\)/, 'merge runs after a failed shard too');
  const m = steps('merge');
  const download = m.findIndex((x) => /^actions\/download-artifact@/.test(x.uses ?? ''));
  const merging = m.findIndex((x) => invocations(x.run ?? '').some((a) => a[0] === 'merge'));
  t.true(download >= 0 && download < merging, 'merge downloads the shards, then merges');
  t.regex(str(obj(m[download]!.with).pattern), /^shard-/);
  const mergeUpload = m.findIndex((x) => /^actions\/upload-artifact@/.test(x.uses ?? ''));
  t.true(mergeUpload > merging);
  t.regex(str(m[mergeUpload]!.if), /always\(\)/, 'the merged report is uploaded even when a check failed');
  t.is(str(obj(m[mergeUpload]!.with).name), 'merged');

  const compare = job('compare');
  t.deepEqual(list(compare.needs), ['merge']);
  t.regex(str(compare.if), /always\(\)|!\s*cancelled\(\)/, 'compare runs when a check failed too');
  const c = steps('compare');
  const baseline = c.findIndex((x) => /^dawidd6\/action-download-artifact@/.test(x.uses ?? ''));
  t.true(baseline >= 0, 'compare fetches the last good night');
  t.like(obj(c[baseline]!.with), { workflow_conclusion: 'success', name: 'merged', if_no_artifact_found: 'warn' });
  const comparing = c.findIndex((x) => invocations(x.run ?? '').some((a) => a[0] === 'compare'));
  t.true(comparing > baseline);
  const compareArgs = invocations(c[comparing]!.run!).find((a) => a[0] === 'compare')!;
  t.is(compareArgs[compareArgs.indexOf('--markdown') + 1], '$GITHUB_STEP_SUMMARY');
  t.regex(c[comparing]!.run!, /exit 0/, 'no baseline yet: says so and passes');
  t.true(obj(doc.permissions).actions === 'read', 'actions: read, to list earlier runs');
});

// ---------------------------------------------------------------------------------------------
// GitLab CI.

test(`${GITLAB}: schedule rule, parallel: 2 as the shard, cache keyed on kernel inputs, artifacts always, merge then compare`, (t) => {
  const { doc, jobs, scriptsOf } = gitlab();
  t.deepEqual(Object.keys(jobs), ['shard', 'merge', 'compare']);
  for (const [name, j] of Object.entries(jobs)) {
    t.regex(str(j.image ?? obj(doc.default).image), DEBIAN_12, `job ${name} runs in a Debian 12 image`);
    t.true(list(j.rules).some((r) => /\$CI_PIPELINE_SOURCE == "schedule"/.test(str(obj(r).if))), `job ${name} runs on a schedule`);
    t.is(obj(j.artifacts).when, 'always', `job ${name} keeps its artifacts when it fails`);
  }
  const stages = list(doc.stages);
  t.true(stages.indexOf(jobs.shard!.stage) < stages.indexOf(jobs.merge!.stage) && stages.indexOf(jobs.merge!.stage) < stages.indexOf(jobs.compare!.stage));

  const shard = jobs.shard!;
  t.is(shard.parallel, 2);
  const runArgs = scriptsOf(shard).flatMap(invocations).find((a) => a[0] === 'run');
  t.truthy(runArgs, 'shard runs numacage run');
  t.is(runArgs![runArgs!.indexOf('--shard') + 1], '$CI_NODE_INDEX/$CI_NODE_TOTAL');
  t.regex(runArgs![runArgs!.indexOf('--out') + 1]!, /^shards\//);
  t.true(list(obj(shard.artifacts).paths).includes('shards/'));
  const cache = obj(shard.cache);
  const files = list(obj(cache.key).files).map(str);
  t.true(files.length >= 1 && files.length <= 2, 'cache:key:files takes one or two entries');
  for (const input of ['kconfigs/', 'patches/']) t.true(files.some((f) => f.startsWith(input)), `the cache key follows ${input}`);
  t.regex(str(obj(cache.key).prefix), /\$CI_NODE_INDEX/, 'each shard has its own cache');
  t.is(cache.when, 'always', 'the cache is saved after a failed check too');
  t.regex(str(obj(doc.variables).NUMACAGE_CACHE), /^\$CI_PROJECT_DIR\//, 'the cache dir is inside the project, where GitLab caches');
  t.true(list(cache.paths).some((p) => str(obj(doc.variables).NUMACAGE_CACHE).endsWith(`/${str(p).replace(/\/$/, '')}`)), 'the cached path is $NUMACAGE_CACHE');
  t.true(list(shard.after_script).flatMap((x) => invocations(str(x))).some((a) => a[0] === 'cache' && a[1] === 'gc'), 'cache gc in after_script: after a failure too, before the cache is saved');

  const needs = (j: Obj) => list(j.needs).map((n) => (isObj(n) ? str(n.job) : str(n)));
  const whenAlways = (j: Obj) => list(j.rules).every((r) => obj(r).when === 'always');
  t.deepEqual(needs(jobs.merge!), ['shard']);
  t.true(whenAlways(jobs.merge!), 'merge runs after a failed shard too');
  t.true(scriptsOf(jobs.merge!).flatMap(invocations).some((a) => a[0] === 'merge' && a.includes('shards/*')));
  t.true(list(obj(jobs.merge!.artifacts).paths).includes('merged/'));

  t.deepEqual(needs(jobs.compare!), ['merge']);
  t.true(whenAlways(jobs.compare!), 'compare runs when a check failed too');
  const compareScript = scriptsOf(jobs.compare!).join('\n');
  t.true(compareScript.includes('$CI_API_V4_URL/projects/$CI_PROJECT_ID/jobs/artifacts/$CI_DEFAULT_BRANCH/download?job=merge'), 'the baseline comes from the last successful merge job');
  t.regex(compareScript, /CI_JOB_TOKEN/);
  t.regex(compareScript, /exit 0/, 'no baseline yet: says so and passes');
  const compareArgs = scriptsOf(jobs.compare!).flatMap(invocations).find((a) => a[0] === 'compare')!;
  const markdown = compareArgs[compareArgs.indexOf('--markdown') + 1]!;
  t.true(list(obj(jobs.compare!.artifacts).paths).includes(markdown), 'the Markdown summary is an artifact');
});

// ---------------------------------------------------------------------------------------------
// Every invocation against the CLI. These fail until the CLI has every command and flag the
// examples use (merge, run --shard, compare --markdown and --time-threshold, cache gc and ls).

const NIGHTLY = ['run --topology --kernel --append --shard --out', 'merge --out', 'compare --markdown --time-threshold', 'cache gc --max-size --older-than', 'cache ls'];

for (const [file, scripts] of [[GITHUB, () => github().scripts], [GITLAB, () => gitlab().scripts]] as const) {
  test(`${file}: every numacage command and flag exists in the CLI`, async (t) => {
    const { invocations: found, problems } = await check(scripts());
    const lines = found.map((a) => { const c = commandLine(a); return [c.command, ...c.flags].join(' '); });
    t.deepEqual([...new Set(lines)].sort(), [...NIGHTLY].sort(), 'the nightly commands, each found in the scripts');
    t.deepEqual(problems, []);
  });
}

test(`${DOCS}: every numacage command in its shell blocks exists in the CLI`, async (t) => {
  const blocks = shellBlocks(read(DOCS));
  const { invocations: found, problems } = await check(blocks);
  const commands = new Set(found.map((a) => commandLine(a).command));
  for (const c of ['run', 'merge', 'compare', 'cache gc']) t.true(commands.has(c), `docs/ci.md shows numacage ${c}`);
  t.deepEqual(problems, []);
});
