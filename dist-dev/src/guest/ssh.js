import ssh2 from 'ssh2';
export class SshSession {
    client;
    target;
    constructor(client, target) {
        this.client = client;
        this.target = target;
    }
    /** One connection attempt (over sock when given); rejects on refusal, reset, timeout or a host key mismatch. */
    static open(target, attemptTimeoutMs, sock) {
        return new Promise((resolve, reject) => {
            const client = new ssh2.Client();
            const expected = Buffer.from(target.hostKey, 'base64');
            let hostKeyMismatch = false;
            client
                .on('ready', () => resolve(new SshSession(client, target)))
                .on('error', (err) => {
                client.end();
                reject(hostKeyMismatch ? new HostKeyMismatchError() : err);
            })
                .connect({
                ...(sock ? { sock } : { host: '127.0.0.1', port: target.port }),
                username: target.user,
                privateKey: target.privateKey,
                readyTimeout: attemptTimeoutMs,
                algorithms: { serverHostKey: ['ssh-ed25519'] },
                hostVerifier: (key) => {
                    hostKeyMismatch = !key.equals(expected);
                    return !hostKeyMismatch;
                },
            });
        });
    }
    /** Runs a command; input, when given, is its standard input. */
    exec(command, timeoutMs, input) {
        const started = Date.now();
        return new Promise((resolve, reject) => {
            this.client.exec(command, (err, channel) => {
                if (err)
                    return reject(err);
                let stdout = '';
                let stderr = '';
                let exitCode = null;
                let signal;
                let timedOut = false;
                const timer = setTimeout(() => {
                    timedOut = true;
                    channel.signal('KILL');
                    channel.close();
                }, timeoutMs);
                channel.on('data', (d) => (stdout += d.toString('utf8')));
                channel.stderr.on('data', (d) => (stderr += d.toString('utf8')));
                channel.on('exit', (code, sig) => {
                    exitCode = code;
                    signal = sig ?? undefined;
                });
                if (input)
                    channel.end(input);
                channel.on('close', () => {
                    clearTimeout(timer);
                    resolve({ command, stdout, stderr, exitCode: timedOut ? null : exitCode, ...(signal && !timedOut ? { signal } : {}), timedOut, durationMs: Date.now() - started });
                });
            });
        });
    }
    /** An interactive shell on this terminal; resolves with the shell's exit code. */
    shell() {
        const stdin = process.stdin;
        return new Promise((resolve, reject) => {
            const window = { term: process.env.TERM ?? 'xterm', rows: process.stdout.rows ?? 24, cols: process.stdout.columns ?? 80 };
            this.client.shell(window, (err, channel) => {
                if (err)
                    return reject(err);
                let code = 0;
                if (stdin.isTTY)
                    stdin.setRawMode(true);
                stdin.pipe(channel);
                channel.pipe(process.stdout);
                channel.stderr.pipe(process.stderr);
                const resize = () => channel.setWindow(process.stdout.rows ?? 24, process.stdout.columns ?? 80, 0, 0);
                process.stdout.on('resize', resize);
                channel.on('exit', (c) => (code = c ?? 0));
                channel.on('close', () => {
                    process.stdout.off('resize', resize);
                    stdin.unpipe(channel);
                    if (stdin.isTTY)
                        stdin.setRawMode(false);
                    stdin.pause();
                    resolve(code);
                });
            });
        });
    }
    close() {
        this.client.end();
    }
}
export class HostKeyMismatchError extends Error {
    constructor() {
        super('the guest presented a host key other than the image\'s pinned one');
    }
}
//# sourceMappingURL=ssh.js.map