import { ConfigError } from '../model/errors.js';

export interface KselftestName {
  /** mm, or a nested collection such as net/forwarding. */
  collection: string;
  program: string;
}

export interface KselftestProgram extends KselftestName {
  path: string;
  /** From the collection's `settings` file (timeout=N), else the runner's 45 s. */
  timeoutSeconds: number;
}

const NAME = /^([a-z0-9_-]+(?:\/[a-z0-9_-]+)*)\/([A-Za-z0-9_.+-]+)$/;

/**
 * mm's run_vmtests.sh -t categories → the programs they run (tools/testing/
 * selftests/mm/run_vmtests.sh in 6.12), for `--kselftest mm:CATEGORY`.
 * Left out: ksm_tests (libnuma) and mlock-random-test (libcap), which need
 * libraries the host lacks, and the shell-script tests; migration needs
 * libnuma-dev and fails to build without it, with the compiler's words.
 */
export const MM_CATEGORIES: Record<string, string[]> = {
  ksm: ['ksm_functional_tests'],
  madv_populate: ['madv_populate'],
  mmap: ['map_fixed_noreplace', 'map_populate'],
  mremap: ['mremap_test', 'mremap_dontunmap'],
  mlock: ['mlock2-tests', 'on-fault-limit'],
  gup_test: ['gup_test', 'gup_longterm'],
  userfaultfd: ['uffd-unit-tests'],
  compaction: ['compaction_test'],
  memfd_secret: ['memfd_secret'],
  process_mrelease: ['mrelease_test'],
  soft_dirty: ['soft-dirty'],
  pagemap: ['pagemap_ioctl'],
  cow: ['cow'],
  thp: ['khugepaged', 'transhuge-stress', 'split_huge_page_test'],
  migration: ['migration'],
  mkdirty: ['mkdirty'],
  mdwe: ['mdwe_test'],
  hugevm: ['virtual_address_range'],
};

/** "mm/ksm_functional_tests,mm/madv_populate" or "mm:ksm" → names; a bad one is a ConfigError naming it. Pure. */
export function parseKselftestNames(specs: string[]): KselftestName[] {
  const names = specs
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  const out = names.flatMap((n): KselftestName[] => {
    const category = /^mm:(.+)$/.exec(n);
    if (category) {
      const programs = Object.hasOwn(MM_CATEGORIES, category[1]!) ? MM_CATEGORIES[category[1]!] : undefined;
      if (!programs)
        throw new ConfigError(
          `--kselftest ${n}: no run_vmtests.sh category ${category[1]}`,
          `use one of: ${Object.keys(MM_CATEGORIES)
            .map((c) => `mm:${c}`)
            .join(', ')}`,
        );
      return programs.map((program) => ({ collection: 'mm', program }));
    }
    const m = NAME.exec(n);
    if (!m)
      throw new ConfigError(
        `--kselftest ${n}: not COLLECTION/PROGRAM or mm:CATEGORY`,
        'name programs of a tools/testing/selftests directory, e.g. mm/ksm_functional_tests, or a run_vmtests.sh category, e.g. mm:ksm',
      );
    return [{ collection: m[1]!, program: m[2]! }];
  });
  return out.filter((x, i) => out.findIndex((y) => y.collection === x.collection && y.program === x.program) === i);
}

/**
 * Whether a source tree (its file paths) has what `make PROGRAM` in the
 * collection needs: the collection's Makefile and PROGRAM.c (x86 builds
 * PROGRAM_32 and PROGRAM_64 from PROGRAM.c). Pure.
 */
export function kselftestSourceKnown(n: KselftestName, files: ReadonlySet<string>): boolean {
  const dir = `tools/testing/selftests/${n.collection}`;
  const stem = n.program.replace(/_(32|64)$/, '');
  return files.has(`${dir}/Makefile`) && [n.program, stem].some((p) => files.has(`${dir}/${p}.c`));
}
