import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/** Listens on a free port of `host` (loopback unless asked), resolving the server's http URL. */
export function listenLocally(server: Server, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const { address, port } = server.address() as AddressInfo;
      resolve(`http://${address}:${port}`);
    });
  });
}

/** Stops listening and drops open connections (close() alone would wait for idle keep-alives). */
export function closeNow(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
