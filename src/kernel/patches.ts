/** One patch to apply with `patch -p1`: its name (for messages) and its bytes. */
export interface Patch {
  name: string;
  text: string;
}

/** Patch names from a quilt `series` file: one per line, `#` comments, optional `-pN` after the name. Pure. */
export function parseSeries(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter(Boolean)
    .map((l) => l.split(/\s+/)[0]!);
}

const MBOX_SEPARATOR = /^From \S+ .*\d{4}$/m;

export function looksLikeMbox(text: string): boolean {
  return text.startsWith('From ') && MBOX_SEPARATOR.test(text.split('\n', 1)[0]!);
}

/**
 * Splits an mbox (as saved from a mailing list or by b4) into its messages
 * that carry a diff; a cover letter ("[PATCH 0/N]") or reply without one is
 * dropped. Each message is named by its Subject. Pure.
 */
export function splitMbox(text: string, source: string): Patch[] {
  const messages: string[] = [];
  let current: string[] = [];
  for (const line of text.split('\n')) {
    if (/^From \S+ .*\d{4}$/.test(line) && current.length) {
      messages.push(current.join('\n'));
      current = [];
    }
    current.push(line);
  }
  if (current.length) messages.push(current.join('\n'));
  return messages
    .filter((m) => /^(diff --git |--- \S)/m.test(m))
    .map((m, i) => ({
      name: `${source} #${i + 1}: ${subjectOf(m) ?? 'no subject'}`,
      text: m.endsWith('\n') ? m : `${m}\n`,
    }));
}

export function subjectOf(message: string): string | undefined {
  const m = /^Subject: (.*(?:\n[ \t].*)*)/m.exec(message);
  return m ? m[1]!.replace(/\n[ \t]+/g, ' ').trim() : undefined;
}

/** The paths (relative to the tree, -p1) a patch touches or creates. Pure. */
export function touchedFiles(patchText: string): string[] {
  const files = new Set<string>();
  for (const line of patchText.split('\n')) {
    const m = /^(?:---|\+\+\+) (\S+)/.exec(line) ?? /^(?:rename|copy) (?:from|to) (\S+)/.exec(line);
    if (!m || m[1] === '/dev/null') continue;
    const path = line.startsWith('rename') || line.startsWith('copy') ? m[1]! : m[1]!.split('/').slice(1).join('/');
    if (path) files.add(path);
  }
  return [...files].sort();
}

/** Kconfig symbols the patches add (`+config FOO`, `+menuconfig FOO` in a Kconfig hunk). Pure. */
export function kconfigSymbolsAdded(patches: Patch[]): Set<string> {
  const out = new Set<string>();
  for (const p of patches)
    for (const m of p.text.matchAll(/^\+\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$/gm)) out.add(`CONFIG_${m[1]!}`);
  return out;
}

/**
 * A series folder's own kconfig fragment for the patches taken from it: a line
 * for an option that the series itself adds is kept only when a taken patch
 * adds it, so a prefix of the series (a bisect step, `NAME@K`) is not asked for
 * an option its tree does not have yet. Pure.
 */
export function seriesFragmentFor(text: string, series: Patch[], taken: Patch[]): string {
  const addedBySeries = kconfigSymbolsAdded(series);
  const addedByTaken = kconfigSymbolsAdded(taken);
  return text
    .split('\n')
    .filter((line) => {
      const option = /^(?:# )?(CONFIG_[A-Za-z0-9_]+)[= ]/.exec(line.trim())?.[1];
      return option === undefined || !addedBySeries.has(option) || addedByTaken.has(option);
    })
    .join('\n');
}
