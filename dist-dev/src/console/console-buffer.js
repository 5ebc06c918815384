/** The guest's serial console as received so far. Pure. */
export class ConsoleBuffer {
    text = '';
    watchers = new Set();
    append(chunk) {
        this.text += chunk;
        for (const w of this.watchers)
            w(chunk);
    }
    get content() {
        return this.text;
    }
    /** The last n lines, without carriage returns. */
    tail(n) {
        const lines = this.text.replace(/\r/g, '').split('\n');
        if (lines.at(-1) === '')
            lines.pop();
        return lines.slice(-n);
    }
    /** Calls fn with the text so far, then with every new chunk; returns the unsubscribe function. */
    watch(fn) {
        this.watchers.add(fn);
        if (this.text)
            fn(this.text);
        return () => this.watchers.delete(fn);
    }
}
//# sourceMappingURL=console-buffer.js.map