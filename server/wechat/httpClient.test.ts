import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchange } from './httpClient';

let server: Server;
let base: string;
const sockets = new Set<unknown>();
beforeAll(async () => {
  server = createServer((req, res) => {
    sockets.add(req.socket);
    if (req.url === '/big') return res.end(Buffer.alloc(2 * 1024 * 1024, 'a'));
    if (req.url === '/hang') return; // never answers
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => res.end(JSON.stringify({ method: req.method, type: req.headers['content-type'] ?? null, body })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('the HTTP client WeChat calls go through', () => {
  it('sends JSON, reads the answer, and keeps the connection for the next call', async () => {
    const first = await exchange(`${base}/echo`, { method: 'POST', body: '{"a":1}', timeoutMs: 2000 });
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text)).toEqual({ method: 'POST', type: 'application/json', body: '{"a":1}' });
    const second = await exchange(`${base}/echo`, { method: 'GET', timeoutMs: 2000 });
    expect(JSON.parse(second.text)).toMatchObject({ method: 'GET', type: null });
    expect(sockets.size).toBe(1);
  });

  it('gives up at the timeout, for the whole exchange', async () => {
    const started = performance.now();
    await expect(exchange(`${base}/hang`, { method: 'GET', timeoutMs: 300 })).rejects.toThrow('timeout');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refuses an answer over 1 MB instead of buffering it', async () => {
    await expect(exchange(`${base}/big`, { method: 'GET', timeoutMs: 5000 })).rejects.toThrow('response too large');
  });

  it('refuses a URL that is not http(s), and a server that is not there', async () => {
    await expect(exchange('ftp://127.0.0.1/x', { method: 'GET', timeoutMs: 500 })).rejects.toThrow('unsupported protocol');
    await expect(exchange('http://127.0.0.1:1/x', { method: 'GET', timeoutMs: 500 })).rejects.toThrow();
  });
});
