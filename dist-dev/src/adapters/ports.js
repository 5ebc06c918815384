import { createServer } from 'node:net';
/** A TCP port on 127.0.0.1 that was free a moment ago (QEMU binds it next). */
export function freeLocalPort() {
    return new Promise((resolve, reject) => {
        const srv = createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const addr = srv.address();
            const port = typeof addr === 'object' && addr ? addr.port : 0;
            srv.close(() => resolve(port));
        });
    });
}
//# sourceMappingURL=ports.js.map