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
