import fc from 'fast-check';

// Input generators for the property tests: files as people write them, then mutated as hand edits do.

/** Replaces, deletes or adds one value anywhere in a JSON document: the mutations a hand-edited file goes through. */
export function mutated(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const op = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('keep', 'replace', 'delete', 'add'),
    value: fc.jsonValue({ maxDepth: 2 }),
    key: fc.string({ maxLength: 8 }),
  });
  return fc.tuple(base, fc.array(op, { maxLength: 3 })).map(([doc, ops]) => {
    let out = structuredClone(doc);
    for (const o of ops) out = applyAt(out, o.at, o.kind, o.value, o.key);
    return out;
  });
}

/** Every value of a JSON document with the object or array holding it, depth first: the slots a mutation picks from. */
function slotsOf(doc: unknown): [Record<string, unknown> | unknown[], string | number][] {
  const slots: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v))
      v.forEach((x, i) => {
        slots.push([v, i]);
        walk(x);
      });
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        slots.push([v as Record<string, unknown>, k]);
        walk(x);
      }
  };
  walk(doc);
  return slots;
}

function applyAt(doc: unknown, at: number, kind: string, value: unknown, key: string): unknown {
  if (kind === 'keep') return doc;
  const slots = slotsOf(doc);
  if (slots.length === 0) return kind === 'replace' ? value : doc;
  const [parent, slot] = slots[at % slots.length]!;
  if (kind === 'replace') (parent as Record<string | number, unknown>)[slot] = value;
  else if (kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(slot as number, 1);
    else delete (parent as Record<string, unknown>)[slot as string];
  } else if (!Array.isArray(parent)) parent[key] = value;
  return doc;
}

/** Strings a tampered file holds where numacage wrote a name, a path or a console line. */
const NASTY_STRINGS = [
  '',
  '__proto__',
  'constructor',
  'toString',
  '../x',
  '/etc',
  'report.json/x',
  'a\u0000b',
  'lone \ud800 surrogate',
  '<script>alert(1)</script>',
  '::error::x',
  'x'.repeat(70_000),
];

/** Keys numacage's readers look up (optional fields of a report, and the evidence the HTML report draws from). */
const KNOWN_KEYS = [
  '__proto__',
  'constructor',
  'cell',
  'label',
  'note',
  'profile',
  'expectedProfile',
  'topologySpec',
  'bootFailure',
  'bootRetries',
  'stopped',
  'probeProvoked',
  'emulatorArtifacts',
  'command',
  'durationSeconds',
  'subtests',
  'placements',
  'hostWitness',
  'detectedProfile',
  'nodes',
  'distances',
  'devices',
  'cpus',
  'pages',
  'before',
  'after',
  'decoded',
  'signature',
  'during',
  'atSeconds',
  'hotplug',
  'hmat',
  'backend',
  'shard',
  'cells',
];

/** A list's length: long, and now and then longer than a function's argument list (V8 takes about 120,000). */
const longLength = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(50, 2_000) },
  { weight: 1, arbitrary: fc.constant(150_000) },
);

/**
 * What a tampered file holds in place of a field: any JSON value, the wrong
 * type, names that mean something to JavaScript, strings no path or URI
 * takes, and arrays longer than a function's argument list.
 */
const tamperedValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  {
    weight: 6,
    arbitrary: fc.constantFrom<unknown>(null, 0, -1, 0.5, 1e308, true, false, [], {}, { '0': 1 }, ...NASTY_STRINGS),
  },
  { weight: 2, arbitrary: fc.constantFrom<unknown>([''], [0], [{}], [null], { a: {} }) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom<unknown>('x', 0, ''), longLength).map(([x, n]) => Array(n).fill(x)),
  },
);

/**
 * A file from elsewhere (a CI artifact) that someone edited to break its
 * reader: besides mutated()'s edits, optional keys the reader looks up are
 * added with any value (own `__proto__` keys too, as JSON.parse makes them),
 * and an array's first element repeated thousands of times.
 */
export function tampered(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const op = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('replace', 'replace', 'delete', 'add', 'add', 'grow'),
    value: tamperedValue,
    key: fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string({ maxLength: 8 })),
    times: longLength,
  });
  return fc.tuple(base, fc.array(op, { minLength: 1, maxLength: 4 })).map(([doc, ops]) => {
    let out = structuredClone(doc);
    // A copy of each value (a constant must not change under a later edit); long lists are made anew each time.
    const fresh = (v: unknown) => (Array.isArray(v) && v.length > 1_000 ? v : structuredClone(v));
    // One growth at most, last: walking thousands of copies of a check for the next edit would take long.
    const grow = ops.find((o) => o.kind === 'grow');
    for (const o of [...ops.filter((o) => o.kind !== 'grow'), ...(grow ? [grow] : [])]) {
      const slots = slotsOf(out);
      if (slots.length === 0) {
        if (o.kind === 'replace') out = fresh(o.value);
        continue;
      }
      const [parent] = slots[o.at % slots.length]!;
      if (o.kind === 'add' && !Array.isArray(parent))
        // defineProperty: `parent.__proto__ = v` would set the prototype, not add the key JSON.parse makes.
        Object.defineProperty(parent, o.key, {
          value: fresh(o.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else if (o.kind === 'grow' && Array.isArray(parent)) {
        // 150,000 copies of a whole check would be refused for the file's size alone: small elements only.
        const x = o.times <= 2_000 || (JSON.stringify(parent[0]) ?? '').length <= 64 ? parent[0] : 'x';
        while (parent.length < o.times) parent.push(x);
      } else out = applyAt(out, o.at, o.kind === 'grow' ? 'delete' : o.kind, fresh(o.value), o.key);
    }
    return out;
  });
}

/** Topology files as people write them: 1-4 nodes, CPU-less ones, both backends, hot-plug, HMAT, distances, devices. */
export const topologyFile = fc.integer({ min: 1, max: 4 }).chain((n) =>
  fc
    .record({
      cpusPerNode: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
      memMiB: fc.array(
        fc.integer({ min: 1, max: 16 }).map((x) => x * 128),
        { minLength: n, maxLength: n },
      ),
      shares: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      backends: fc.array(fc.constantFrom('memfd', 'ram'), { minLength: n, maxLength: n }),
      hotplug: fc.array(fc.constantFrom(undefined, 'pc-dimm', 'virtio-mem'), { minLength: n, maxLength: n }),
      hmat: fc.boolean(),
      far: fc.integer({ min: 11, max: 254 }),
      devices: fc.array(
        fc.record({ kind: fc.constantFrom('virtio-net', 'virtio-blk'), node: fc.integer({ min: 0, max: n - 1 }) }),
        {
          maxLength: 3,
        },
      ),
      sizeAsString: fc.boolean(),
    })
    .map((g) => {
      let cpu = 0;
      const nodes = g.memMiB.map((mem, id) => {
        // Node 0 is boot memory with a CPU, as in every real layout; the others vary.
        const hotplug = id === 0 ? undefined : g.hotplug[id];
        const count = hotplug ? 0 : id === 0 ? Math.max(1, g.cpusPerNode[id]!) : g.cpusPerNode[id]!;
        const cpus = count ? `${cpu}-${cpu + count - 1}` : '';
        cpu += count;
        return {
          id,
          mem: g.sizeAsString ? `${mem}M` : mem,
          cpus,
          backend: g.backends[id],
          ...(g.backends[id] === 'memfd' ? { share: g.shares[id] } : {}),
          ...(hotplug ? { hotplug } : {}),
          ...(g.hmat ? { hmat: { latencyNs: 80 + id * 100, bandwidthMBs: 20000 } } : {}),
        };
      });
      return {
        name: 'generated',
        memory: `${g.memMiB.reduce((a, b) => a + b, 0)}M`,
        cpus: Math.max(cpu, 1),
        nodes,
        distances: nodes.map((_, i) => nodes.map((__, j) => (i === j ? 10 : g.far))),
        devices: g.devices,
      };
    }),
);

export const runConfigFile = fc.record(
  {
    topology: fc.constantFrom('private-virtio', './t.json', 'a,b'),
    suite: fc.constantFrom('smoke', 'isolation'),
    accel: fc.constantFrom('auto', 'kvm', 'tcg'),
    init: fc.constantFrom('minimal', 'systemd'),
    append: fc.oneof(fc.string(), fc.array(fc.string())),
    'boot-timeout': fc.integer({ min: 1, max: 900 }),
    guests: fc.integer({ min: 1, max: 4 }),
    jobs: fc.integer({ min: 1, max: 4 }),
    kernel: fc.oneof(
      fc.constantFrom('stock', 'built'),
      fc.record(
        {
          kind: fc.constantFrom('stock', 'built'),
          src: fc.constant('../linux'),
          patches: fc.constant('private-node'),
          kconfig: fc.array(fc.constantFrom('guest-base', './x.config')),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

export const recipeFile = fc.record({
  description: fc.string(),
  suite: fc.constantFrom('bookworm', 'trixie'),
  mirrors: fc.constant(['deb http://deb.debian.org/debian bookworm main']),
  packages: fc.array(fc.constantFrom('openssh-server', 'numactl', 'gdb')),
  stockKernel: fc.constant('linux-image-{linux-source-6.12}+deb12-cloud-amd64-unsigned'),
  sizeMiB: fc.integer({ min: 512, max: 8192 }),
  users: fc.array(fc.constantFrom('probe', 'ci')),
});
