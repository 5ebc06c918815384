import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import test from 'ava';
import { projectPath } from '../../src/adapters/project.js';

// The layering rules of docs/ARCHITECTURE.md, read off the source itself: the pure core imports
// neither the effectful edges nor a package that reaches a process, a file or the network, and no
// module of src/ imports itself through others (type imports included).
const SRC = projectPath('src');
const PURE = [
  'topology',
  'qemu',
  'image',
  'kernel',
  'parsers',
  'console',
  'invariants',
  'report',
  'model',
  'plan',
  'schema',
  'steps',
];
const EFFECTFUL_PACKAGES = [
  'node:fs',
  'node:fs/promises',
  'node:child_process',
  'node:net',
  'execa',
  'ssh2',
  'tmp-promise',
  'proper-lockfile',
];

type Imports = Map<string, { typeOnly: boolean; target: string }[]>;

/** Each module's imports: relative ones as paths under src/, packages by name; `import type` marked. */
function readImports(): Imports {
  const modules = readdirSync(SRC, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'));
  return new Map(
    modules.map((m) => {
      const text = readFileSync(join(SRC, m), 'utf8');
      const found = [...text.matchAll(/^(?:import|export) (type )?[^;]*? from '([^']+)';/gms)].map(
        ([, typeOnly, spec]) => ({
          typeOnly: !!typeOnly,
          target: spec!.startsWith('.') ? normalize(join(dirname(m), spec!.replace(/\.js$/, '.ts'))) : spec!,
        }),
      );
      return [m, found];
    }),
  );
}

const folder = (m: string) => m.split('/')[0]!;

function layeringViolations(imports: Imports): string[] {
  return [...imports].flatMap(([m, found]) =>
    PURE.includes(folder(m))
      ? found
          .filter(
            ({ target, typeOnly }) =>
              EFFECTFUL_PACKAGES.includes(target) ||
              (target.endsWith('.ts') && !typeOnly && !PURE.includes(folder(target))),
          )
          .map(({ target }) => `${m} -> ${target}`)
      : [],
  );
}

function cycles(imports: Imports): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (m: string, path: string[]) => {
    if (state.get(m) === 'done') return;
    if (state.get(m) === 'open') return void found.push([...path.slice(path.indexOf(m)), m].join(' -> '));
    state.set(m, 'open');
    for (const { target } of imports.get(m) ?? []) if (imports.has(target)) visit(target, [...path, m]);
    state.set(m, 'done');
  };
  for (const m of imports.keys()) visit(m, []);
  return found;
}

test('the layering rule holds: a pure module imports only pure modules and no effectful package', (t) => {
  const imports = readImports();
  t.true(imports.size > 80, `read ${imports.size} modules`);
  t.deepEqual(layeringViolations(imports), []);
});

test('no import cycle among the modules of src/', (t) => {
  t.deepEqual(cycles(readImports()), []);
});

test('the checks find what they look for: the two breaches this reading found before they were fixed', (t) => {
  // As src/ was on 2026-12-02: invariants/spec.ts and shell.ts imported each other, and the JSON Schema
  // writer lived in schema/ (pure) while importing adapters/ and node:fs.
  const before: Imports = new Map([
    ['invariants/spec.ts', [{ typeOnly: false, target: 'invariants/shell.ts' }]],
    ['invariants/shell.ts', [{ typeOnly: false, target: 'invariants/spec.ts' }]],
    [
      'schema/json-schemas.ts',
      [
        { typeOnly: false, target: 'node:fs' },
        { typeOnly: false, target: 'adapters/project.ts' },
        { typeOnly: true, target: 'adapters/cache-dir.ts' },
      ],
    ],
    ['adapters/project.ts', []],
  ]);
  t.deepEqual(cycles(before), ['invariants/spec.ts -> invariants/shell.ts -> invariants/spec.ts']);
  t.deepEqual(layeringViolations(before), [
    'schema/json-schemas.ts -> node:fs',
    'schema/json-schemas.ts -> adapters/project.ts',
  ]);
});
