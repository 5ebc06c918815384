/** The guest's serial console as received so far. Pure. */
export class ConsoleBuffer {
  private text = '';
  private readonly watchers = new Set<(chunk: string) => void>();

  append(chunk: string): void {
    this.text += chunk;
    for (const w of this.watchers) w(chunk);
  }

  get content(): string {
    return this.text;
  }

  /** The last n lines, without carriage returns. */
  tail(n: number): string[] {
    const lines = this.text.replace(/\r/g, '').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-n);
  }

  /** Calls fn with the text so far, then with every new chunk; returns the unsubscribe function. */
  watch(fn: (chunk: string) => void): () => void {
    this.watchers.add(fn);
    if (this.text) fn(this.text);
    return () => this.watchers.delete(fn);
  }
}
