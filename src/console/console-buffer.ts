/** The guest's serial console as received so far. Pure. */
export class ConsoleBuffer {
  private text = '';
  private readonly watchers = new Set<(text: string) => void>();

  append(chunk: string): void {
    this.text += chunk;
    for (const w of this.watchers) w(this.text);
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

  /** Calls fn with the whole text now and after every append; returns the unsubscribe function. */
  watch(fn: (text: string) => void): () => void {
    this.watchers.add(fn);
    fn(this.text);
    return () => this.watchers.delete(fn);
  }
}
