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

/** "mm/ksm_functional_tests,mm/madv_populate" → names; a bad one is a ConfigError naming it. Pure. */
export function parseKselftestNames(specs: string[]): KselftestName[] {
  const names = specs.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  return names.map((n) => {
    const m = NAME.exec(n);
    if (!m) throw new ConfigError(`--kselftest ${n}: not COLLECTION/PROGRAM`, 'name programs of a tools/testing/selftests directory, e.g. mm/ksm_functional_tests');
    return { collection: m[1]!, program: m[2]! };
  });
}
