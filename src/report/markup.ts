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
