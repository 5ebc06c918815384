/** CONFIG_X → value ('y', 'm', '"str"', '64', or 'n' for "# CONFIG_X is not set"). Pure. */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line))) out.set(m[1]!, m[2]!);
    else if ((m = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line))) out.set(m[1]!, 'n');
  }
  return out;
}

export interface Fragment {
  name: string;
  text: string;
}

export interface ConfigMismatch {
  option: string;
  requested: string;
  /** 'n' when the option is unset or absent from .config. */
  actual: string;
  fragment: string;
}

/**
 * Options the fragments ask for that did not end up in the final .config
 * with the asked value (a later fragment overrides an earlier one, as in
 * merge_config.sh). Pure.
 */
export function verifyConfig(fragments: Fragment[], finalConfig: string): ConfigMismatch[] {
  const requested = new Map<string, { value: string; fragment: string }>();
  for (const f of fragments)
    for (const [option, value] of parseKconfig(f.text)) requested.set(option, { value, fragment: f.name });
  const final = parseKconfig(finalConfig);
  const mismatches: ConfigMismatch[] = [];
  for (const [option, { value, fragment }] of requested) {
    const actual = final.get(option) ?? 'n';
    if (actual !== value) mismatches.push({ option, requested: value, actual, fragment });
  }
  return mismatches;
}

export function describeMismatches(m: ConfigMismatch[]): string {
  return m
    .map(
      (x) => `  - ${x.option}: asked ${x.requested} in ${x.fragment}, got ${x.actual === 'n' ? 'not set' : x.actual}`,
    )
    .join('\n');
}
