import http from 'node:http';
import https from 'node:https';

/**
 * One HTTP exchange with WeChat, over node:http(s) with keep-alive agents. fetch (undici) cost
 * ~175 µs of CPU per call against ~20 µs for this, and every login makes one: on a busy server
 * that was the largest single cost of a login. WeChat's answers are small JSON; the body is
 * capped so that a misbehaving upstream cannot make us buffer without end.
 */
export interface HttpAnswer {
  status: number;
  text: string;
}

const MAX_BODY_BYTES = 1024 * 1024;
// Sockets are reused across calls (WeChat keeps connections alive); a reused socket the other
// end has closed fails the call as a network error, which the caller retries.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' }),
};

/** Rejects on a network error, a timeout (the whole exchange, not one read) or an oversized body. */
export function exchange(url: string, init: { method: 'GET' | 'POST'; body?: string; timeoutMs: number }): Promise<HttpAnswer> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
  if (!transport) return Promise.reject(new Error(`unsupported protocol ${target.protocol}`));
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = transport.request(target, {
      method: init.method,
      agent: agents[target.protocol as 'http:' | 'https:'],
      headers: init.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(init.body) },
    });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), init.timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error('response too large'));
        else chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(init.body);
  });
}
