/**
 * The floor of the login benchmark: a bare node:http server doing only the work no WeChat login
 * can avoid, so the real auth.login can be compared against it. Per POST /login with a JSON body
 * {code, encryptedData, iv, rawData, signature} (what the bench sends auth.login too):
 *   1. one code2Session round trip to WeChat (here the bench's simulator), over node:http with a
 *      keep-alive agent: the cheapest way Node has, and the way the server calls WeChat too (the
 *      floor must not pay for a heavier client than the server it is compared with);
 *   2. the rawData signature check (SHA-1 of rawData + session_key);
 *   3. one AES-128-CBC decrypt of encryptedData with the session_key, and its watermark's appid;
 * then a tiny JSON answer. No database, no tokens, no framework, no validation library.
 *
 * Run by scripts/bench.ts in a child process of its own:
 *   FLOOR_APP_ID=… FLOOR_APP_SECRET=… FLOOR_WECHAT_URL=http://127.0.0.1:… node --import tsx scripts/bench/floorServer.ts
 * Prints one line `{"url":"http://127.0.0.1:PORT"}` once listening; stops on SIGTERM or SIGINT.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { Agent, createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const appId = process.env.FLOOR_APP_ID;
const appSecret = process.env.FLOOR_APP_SECRET;
const wechatUrl = process.env.FLOOR_WECHAT_URL;
if (!appId || !appSecret || !wechatUrl) {
  console.error('floorServer needs FLOOR_APP_ID, FLOOR_APP_SECRET and FLOOR_WECHAT_URL');
  process.exit(1);
}

const MAX_BODY = 64 * 1024;
const agent = new Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });

/** GET → parsed JSON, with a 5 s deadline. */
function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), 5000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

interface LoginBody {
  code?: unknown;
  encryptedData?: unknown;
  iv?: unknown;
  rawData?: unknown;
  signature?: unknown;
}

function reply(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function login(input: LoginBody): Promise<{ status: number; body: object }> {
  const { code, encryptedData, iv, rawData, signature } = input;
  if (typeof code !== 'string' || typeof encryptedData !== 'string' || typeof iv !== 'string') {
    return { status: 400, body: { error: 'send code, encryptedData and iv' } };
  }
  const query = new URLSearchParams({ appid: appId!, secret: appSecret!, js_code: code, grant_type: 'authorization_code' });
  const session = (await getJson(`${wechatUrl}/sns/jscode2session?${query}`)) as { openid?: string; session_key?: string; errcode?: number; errmsg?: string };
  if (!session.openid || !session.session_key) return { status: 401, body: { error: 'code2Session', errcode: session.errcode, errmsg: session.errmsg } };

  if (typeof rawData === 'string' || typeof signature === 'string') {
    const expected = createHash('sha1').update(`${String(rawData)}${session.session_key}`, 'utf8').digest('hex');
    if (expected !== signature) return { status: 400, body: { error: 'signature' } };
  }

  const decipher = createDecipheriv('aes-128-cbc', Buffer.from(session.session_key, 'base64'), Buffer.from(iv, 'base64'));
  let data: { watermark?: { appid?: string } };
  try {
    data = JSON.parse(Buffer.concat([decipher.update(Buffer.from(encryptedData, 'base64')), decipher.final()]).toString('utf8')) as typeof data;
  } catch {
    return { status: 400, body: { error: 'decrypt' } };
  }
  if (data.watermark?.appid !== appId) return { status: 400, body: { error: 'watermark' } };
  return { status: 200, body: { ok: true, openId: session.openid } };
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/login') {
    req.resume();
    return reply(res, 404, { error: 'POST /login' });
  }
  readBody(req)
    .then(async (text) => {
      if (text === null) return reply(res, 413, { error: 'body too large' });
      let input: LoginBody;
      try {
        input = JSON.parse(text) as LoginBody;
      } catch {
        return reply(res, 400, { error: 'not JSON' });
      }
      const out = await login(input);
      reply(res, out.status, out.body);
    })
    .catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) reply(res, 502, { error: err instanceof Error ? err.message : String(err) });
    });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
