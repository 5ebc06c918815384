const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** C0 controls but tab, newline and carriage return, and DEL: XML 1.0 allows them in no form, not even as &#x1b;. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/**
 * Escapes text for HTML or XML element content and quoted attribute values;
 * a control character (a console's colour codes) is written out as \x1b, so
 * the document stays well-formed and the reader still sees it. Pure.
 */
export function esc(s: unknown): string {
  return String(s)
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!)
    .replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Text for a terminal or a CI log, with nothing a CI runner acts on: GitHub
 * takes a line starting with `::` (after blanks) and `##[` anywhere as a
 * workflow command, and a guest can print either (any root process writes
 * the console through /dev/kmsg). Such a line gets `: :`, `##[` becomes
 * `## [`, and control characters but tab and newline are written as \x1b.
 * Pure.
 */
export function inert(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/^([ \t]*):(?=:)/gm, '$1: ')
    .replace(/##\[/g, '## [');
}
