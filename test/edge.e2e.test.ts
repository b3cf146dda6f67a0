import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';

// The HTTP edge from outside: what is read of a body and when it is refused, how long a slow
// client may hold a connection, the caching headers of token answers, and that error messages
// are ours, never a library's.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The reason of an error answer, in the tRPC shape (`error.json.data`) or the REST one (`error`). */
function reasonOf(body: Json): string | undefined {
  return body.error?.json?.data?.reason ?? body.error?.reason;
}

function messageOf(body: Json): string | undefined {
  return body.error?.json?.message ?? body.error?.message;
}

interface RawAnswer {
  /** Everything the server wrote before it closed the connection (or before `waitMs`). */
  text: string;
  /** The server closed the connection. */
  closed: boolean;
  /** Milliseconds from the first byte sent to the close (or to `waitMs`). */
  elapsedMs: number;
}

/**
 * A request written by hand on a TCP socket: `head` (request line and headers, without the blank
 * line), then `chunks` of the body, one every `everyMs`. Stops at the server's close, once the answer
 * matches `until`, or at `waitMs`.
 */
function rawRequest(url: string, head: string | null, opts: { chunks?: Buffer[]; everyMs?: number; waitMs: number; until?: RegExp }): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const started = Date.now();
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      clearTimeout(deadline);
      clearInterval(timer);
      socket.destroy();
      resolve({ text, closed, elapsedMs: Date.now() - started });
    };
    const deadline = setTimeout(() => finish(false), opts.waitMs);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (opts.until?.test(text)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      if (head === null) return;
      socket.write(`${head}\r\n\r\n`);
      const chunks = [...(opts.chunks ?? [])];
      const next = () => {
        const chunk = chunks.shift();
        if (chunk && !socket.destroyed) socket.write(chunk);
        if (!chunks.length) clearInterval(timer);
      };
      if (opts.everyMs) timer = setInterval(next, opts.everyMs);
      else while (chunks.length) next();
    });
  });
}

/** A multipart/form-data body of `bytes` bytes in one file field. */
function multipart(bytes: number): { type: string; body: Buffer } {
  const boundary = '----edge-test-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    Buffer.alloc(bytes, 0x61),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { type: `multipart/form-data; boundary=${boundary}`, body };
}

async function answer(res: Response): Promise<{ status: number; headers: Headers; body: Json; text: string }> {
  const text = await res.text();
  expect(text, 'no stack in an answer').not.toMatch(/\bat .*\.(ts|js|mjs|cjs):\d+/);
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Json) : {}, text };
}

describe('request bodies (BODY_LIMIT_BYTES = 65536)', () => {
  const t = useTestBackend();

  it('/trpc answers anything but JSON with 415 UNSUPPORTED_MEDIA_TYPE, in the tRPC shape', async () => {
    const { type, body } = multipart(1024 * 1024);
    const bodies: [string, string | Buffer][] = [
      [type, body],
      ['text/plain', '{"json":{"refreshToken":"x"}}'],
      ['application/x-www-form-urlencoded', 'refreshToken=x'],
      ['application/octet-stream', Buffer.from('{"json":{"refreshToken":"x"}}')],
    ];
    for (const [contentType, sent] of bodies) {
      const res = await answer(await t.fetch('/trpc/auth.refresh', { method: 'POST', headers: { 'content-type': contentType }, body: sent }));
      expect(res.status, `${contentType}: ${res.text}`).toBe(415);
      expect(reasonOf(res.body), contentType).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(res.body.error.json.data.httpStatus).toBe(415);
    }
    // Batched too: one error for every call of the batch.
    const batch = await answer(await t.fetch('/trpc/ping,ping?batch=1', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }));
    expect(batch.status).toBe(415);
    expect((batch.body as unknown as Json[]).map((item) => item.error.json.data.reason)).toEqual(['UNSUPPORTED_MEDIA_TYPE', 'UNSUPPORTED_MEDIA_TYPE']);
  });

  it('a multipart body on /trpc is refused without being read: 415 arrives while the client is still sending', async () => {
    // 256 MB announced, 64 KB sent: the answer must not wait for the rest.
    const { type } = multipart(0);
    const head = `POST /trpc/auth.refresh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nContent-Length: ${256 * 1024 * 1024}`;
    const res = await rawRequest(t.url, head, { chunks: [Buffer.alloc(64 * 1024, 0x61)], waitMs: 3000, until: /\}\}\}$/ });
    expect(res.text, 'no answer before the body was complete').toMatch(/^HTTP\/1\.1 415 /);
    expect(res.text).toContain('UNSUPPORTED_MEDIA_TYPE');
  });

  it('every route that reads a body answers 413 PAYLOAD_TOO_LARGE over the limit', async () => {
    const big = JSON.stringify({ code: 'x'.repeat(70_000), refreshToken: 'x'.repeat(70_000), platCode: 'x' });
    const routes = ['/trpc/auth.refresh', '/trpc/auth.login', '/api/auth/refresh', '/api/auth/login', '/user/wxlogin', '/oauth/token', '/accounts/wxapp'];
    for (const path of routes) {
      const res = await answer(await t.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big }));
      expect(res.status, `${path}: ${res.text}`).toBe(413);
      const reason = path.startsWith('/oauth') || path.startsWith('/accounts') ? res.body.error : path === '/user/wxlogin' ? res.body.reason : reasonOf(res.body);
      expect(reason, path).toBe('PAYLOAD_TOO_LARGE');
    }
    const form = await answer(
      await t.fetch('/oauth/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `code=${'x'.repeat(70_000)}` }),
    );
    expect(form.status).toBe(413);
  });

  it('a route that does not exist is 404 NOT_FOUND whatever body comes with it: nothing is read for it', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(100_000) });
    for (const [path, method, contentType, body] of [
      ['/nope', 'POST', 'application/json', big],
      ['/trpc/auth.login/', 'POST', 'text/plain', 'x'],
      ['/trpc/auth.refresh/', 'OPTIONS', undefined, '{"json":{}}'],
      ['/healthz', 'DELETE', 'application/xml', '<a/>'],
      ['/trpc/auth.login/', 'POST', 'application/json, text/plain', '{"json":{}}'],
      ['/trpc/user.bindPhone/', 'DELETE', '', '{}'],
      ['/trpc/user.checkSession/', 'PATCH', '', ''],
    ] as const) {
      const res = await answer(await t.fetch(path, { method, headers: contentType ? { 'content-type': contentType } : {}, body }));
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
      expect(res.body.error.reason).toBe('NOT_FOUND');
    }
  });

  it('/api takes JSON only: other types are 415 UNSUPPORTED_MEDIA_TYPE; the legacy OAuth routes also take forms', async () => {
    for (const [contentType, body] of [
      ['text/plain', '{"refreshToken":"x"}'],
      ['application/x-www-form-urlencoded', 'refreshToken=x'],
      [multipart(10).type, multipart(10).body],
    ] as const) {
      const res = await answer(await t.fetch('/api/auth/refresh', { method: 'POST', headers: { 'content-type': contentType }, body }));
      expect(res.status, `${contentType}: ${res.text}`).toBe(415);
      expect(res.body.error.reason).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    const legacy = await answer(await t.fetch('/oauth/token', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'code=x' }));
    expect(legacy.status).toBe(415);
    expect(legacy.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('timeouts (HTTP_REQUEST_TIMEOUT_MS = HTTP_CONNECTION_TIMEOUT_MS = 1000)', () => {
  const t = useTestBackend({ HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_CONNECTION_TIMEOUT_MS: '1000' });

  it('a body trickled a byte at a time is cut off: 408 REQUEST_TIMEOUT and the connection closed', async () => {
    const head = 'POST /trpc/auth.refresh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000';
    const chunks = Array.from({ length: 40 }, () => Buffer.from(' '));
    const res = await rawRequest(t.url, head, { chunks, everyMs: 100, waitMs: 3500 });
    expect(res.closed, `still open after ${res.elapsedMs} ms: ${res.text}`).toBe(true);
    expect(res.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(res.text).toContain('"reason":"REQUEST_TIMEOUT"');
    expect(res.elapsedMs).toBeLessThan(3000);
  });

  it('a connection that sends nothing is closed', async () => {
    const res = await rawRequest(t.url, null, { waitMs: 3500 });
    expect(res.closed, `still open after ${res.elapsedMs} ms`).toBe(true);
  });

  it('a request that arrives in time is served as always', async () => {
    const res = await answer(await t.fetch('/trpc/ping'));
    expect(res.status).toBe(200);
  });
});

describe('Cache-Control: no-store on /trpc and /api answers', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto' });

  const superjsonBody = (json: unknown) => JSON.stringify({ json });

  it('on the token answers of login and refresh, over /trpc and /api, and on their errors', async () => {
    const trpcLogin = await t.fetch('/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: superjsonBody({ code: t.wxLogin(uniqueOpenId('cache')) }) });
    expect(trpcLogin.status).toBe(200);
    expect(trpcLogin.headers.get('cache-control')).toBe('no-store');
    const { refreshToken } = ((await trpcLogin.json()) as Json).result.data.json as { refreshToken: string };

    const trpcRefresh = await t.fetch('/trpc/auth.refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: superjsonBody({ refreshToken }) });
    expect(trpcRefresh.status).toBe(200);
    expect(trpcRefresh.headers.get('cache-control')).toBe('no-store');

    const apiLogin = await t.fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: t.wxLogin(uniqueOpenId('cache')) }) });
    expect(apiLogin.status).toBe(200);
    expect(apiLogin.headers.get('cache-control')).toBe('no-store');
    const api = (await apiLogin.json()) as { refreshToken: string; accessToken: string };
    const apiRefresh = await t.fetch('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: api.refreshToken }) });
    expect(apiRefresh.status).toBe(200);
    expect(apiRefresh.headers.get('cache-control')).toBe('no-store');

    const batch = await t.fetch('/trpc/auth.me,user.sessions?batch=1', { headers: { authorization: `Bearer ${api.accessToken}` } });
    expect(batch.status).toBe(200);
    expect(batch.headers.get('cache-control')).toBe('no-store');

    for (const res of [
      await t.fetch('/trpc/auth.refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: superjsonBody({ refreshToken: 'nope' }) }),
      await t.fetch('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"refreshToken":"nope"}' }),
      await t.fetch('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }),
    ]) {
      expect(res.status).toBe(res.url.includes('/api/') && (await res.clone().text()).includes('INVALID_INPUT') ? 400 : 401);
      expect(res.headers.get('cache-control'), res.url).toBe('no-store');
    }
  });
});

describe('error messages are ours, never a library\'s', () => {
  const t = useTestBackend();
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    t.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then(answer);

  it('superjson: an unknown class in the input is INVALID_INPUT with a fixed message', async () => {
    const res = await post('/trpc/auth.login', JSON.stringify({ json: { code: 'x' }, meta: { values: { code: [['class', 'Foo']] } } }));
    expect(res.status, res.text).toBe(400);
    expect(reasonOf(res.body)).toBe('INVALID_INPUT');
    expect(messageOf(res.body)).toBe('The request input could not be decoded');
    expect(res.text).not.toMatch(/deserialize|github|superjson/i);
  });

  it('zod: the message is one readable line; the issues are in data.issues', async () => {
    const res = await post('/trpc/auth.login', JSON.stringify({ json: { code: 42 } }));
    expect(res.status).toBe(400);
    const message = messageOf(res.body)!;
    expect(message).toMatch(/^Invalid input: code: /);
    expect(() => JSON.parse(message)).toThrow();
    expect(res.body.error.json.data.issues).toEqual([expect.objectContaining({ path: ['code'], code: 'invalid_type' })]);
  });

  it('jsonwebtoken: a token for another audience or issuer is TOKEN_INVALID without the expected values', async () => {
    for (const opts of [{ audience: 'web' }, { issuer: 'someone-else' }]) {
      const token = t.signToken({ sid: 's', app: 'wx', oid: 'o' }, { subject: '0123456789abcdef01234567', expiresIn: 60, ...opts });
      const res = await answer(await t.fetch('/trpc/auth.me', { headers: { authorization: `Bearer ${token}` } }));
      expect(res.status).toBe(401);
      expect(reasonOf(res.body)).toBe('TOKEN_INVALID');
      expect(res.text).not.toMatch(/jwt |expected|miniprogram|wx-login-backend/);
    }
  });

  it('tRPC and Fastify refusals: fixed messages, not the library text', async () => {
    const cases: [Promise<Json>, RegExp][] = [
      [post('/api/auth/login', '{"code":'), /Unexpected|JSON at position|content-type is set/],
      [post('/api/auth/login', '', { 'content-type': 'application/xml' }), /Unsupported Media Type:/],
      [post('/trpc/ping,auth.login?batch=1', '{}'), /Cannot mix procedure types/],
      [t.fetch('/trpc/auth.login').then(answer), /Unsupported GET-request|mutation procedure at path/],
      [post('/trpc/auth.me', '{}'), /Unsupported POST-request|query procedure at path/],
      [t.fetch('/trpc/auth.nothing').then(answer), /No procedure found on path/],
    ];
    for (const [pending, libraryText] of cases) {
      const res = await pending;
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.text).not.toMatch(libraryText);
      const body = Array.isArray(res.body) ? (res.body[0] as Json) : res.body;
      expect(typeof messageOf(body), res.text).toBe('string');
    }
  });
});
