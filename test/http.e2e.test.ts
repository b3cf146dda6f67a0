import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestBackend, type TestBackend } from './helpers/testBackend';

const ROOT = resolve(import.meta.dirname, '..');

describe('HTTP surface', () => {
  let t: TestBackend;
  beforeAll(async () => {
    t = await startTestBackend();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('GET /healthz is 200 while the database answers', async () => {
    const res = await t.fetch('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', database: 'up' });
  });

  it('an unknown route is a JSON 404', async () => {
    const res = await t.fetch('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { reason: 'NOT_FOUND' } });
  });

  it('an unknown procedure is NOT_FOUND in tRPC shape', async () => {
    const res = await t.fetch('/trpc/auth.nothing');
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { json: { data: { reason: string } } } };
    expect(body.error.json.data.reason).toBe('NOT_FOUND');
  });

  it('malformed JSON and a wrong content type are typed 4xx, never a stack', async () => {
    const bad = await t.fetch('/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"json":' });
    expect(bad.status).toBe(400);
    const badText = await bad.text();
    expect(badText).toContain('INVALID_INPUT');
    expect(badText).not.toMatch(/\bat .*\.(ts|js):\d+/);

    const xml = await t.fetch('/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<a/>' });
    expect(xml.status).toBeGreaterThanOrEqual(400);
    expect(xml.status).toBeLessThan(500);
  });

  it('a query sent as POST is refused as a 4xx with a reason', async () => {
    const res = await t.fetch('/trpc/auth.me', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(405);
    expect(await res.text()).toContain('INVALID_INPUT');
  });
});

describe('operator options: METRICS_PORT and CORS_ORIGINS', () => {
  const H5 = 'https://h5.example.com';
  let t: TestBackend;
  beforeAll(async () => {
    t = await startTestBackend({ METRICS_PORT: '0', CORS_ORIGINS: `${H5}, http://localhost:5173` });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('serves /metrics on its own listener, and not on the public one', async () => {
    expect(t.backend.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(t.backend.metricsUrl).not.toBe(t.url);
    const metrics = await fetch(`${t.backend.metricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('process_cpu_user_seconds_total');
    const publicMetrics = await t.fetch('/metrics');
    expect(publicMetrics.status).toBe(404);
    expect(await publicMetrics.json()).toMatchObject({ error: { reason: 'NOT_FOUND' } });
    // The metrics listener serves nothing else.
    expect((await fetch(`${t.backend.metricsUrl}/healthz`)).status).toBe(404);
  });

  it('answers a preflight from a listed origin on /api, and adds the origin to the answer', async () => {
    const preflight = await t.fetch('/api/auth/login', {
      method: 'OPTIONS',
      headers: { origin: H5, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(H5);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');

    const ping = await t.fetch('/api/ping', { headers: { origin: H5 } });
    expect(ping.status).toBe(200);
    expect(ping.headers.get('access-control-allow-origin')).toBe(H5);
    expect(ping.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('retry-after');
  });

  it('gives an unlisted origin no CORS answer', async () => {
    const ping = await t.fetch('/api/ping', { headers: { origin: 'https://evil.example.com' } });
    expect(ping.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps CORS off everywhere but /api', async () => {
    const preflight = await t.fetch('/trpc/auth.login', { method: 'OPTIONS', headers: { origin: H5, 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBeGreaterThanOrEqual(400); // whatever tRPC answers an OPTIONS: never a preflight's 204
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const ping = await t.fetch('/trpc/ping', { headers: { origin: H5 } });
    expect(ping.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('without CORS_ORIGINS', () => {
  it('a preflight on /api is a 404 and no answer carries CORS headers', async () => {
    const t = await startTestBackend();
    try {
      const preflight = await t.fetch('/api/ping', { method: 'OPTIONS', headers: { origin: 'https://h5.example.com', 'access-control-request-method': 'GET' } });
      expect(preflight.status).toBe(404);
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      expect(t.backend.metricsUrl).toBeUndefined();
      expect((await t.fetch('/metrics')).status).toBe(200);
    } finally {
      await t.stop();
    }
  });
});

describe('healthz while the database is gone', () => {
  it('is 503, and procedures answer SERVICE_UNAVAILABLE', async () => {
    const t = await startTestBackend();
    try {
      await t.backend.services.db.connection.close();
      const res = await t.fetch('/healthz');
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'unavailable', database: 'down' });
      const login = await t.fetch('/trpc/auth.me', { headers: { authorization: `Bearer ${t.backend.services.tokens.issue({ userId: '0123456789abcdef01234567', sessionId: 'gone', appId: 'wx0', openId: 'o_gone' }).accessToken}` } });
      expect(login.status).toBe(503);
      expect(await login.text()).toContain('SERVICE_UNAVAILABLE');
    } finally {
      await t.stop();
    }
  });
});

describe('the server process (npm start) and the demo', () => {
  const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), 'wxlogin-proc-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  function run(script: string, env: Record<string, string>): ChildProcessWithoutNullStreams {
    const { MONGODB_URI: _drop, WECHAT_APP_ID: _drop2, ...base } = process.env;
    return spawn(tsx, [join(ROOT, script)], { cwd, env: { ...base, ...env } });
  }
  const collect = (child: ChildProcessWithoutNullStreams) => {
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (c: Buffer) => (out.stdout += c));
    child.stderr.on('data', (c: Buffer) => (out.stderr += c));
    return out;
  };
  const exitOf = (child: ChildProcessWithoutNullStreams) => new Promise<number | null>((res) => child.once('exit', (code) => res(code)));

  it('a bad setting stops the start with one line naming the variable', async () => {
    const child = run('server/main.ts', { PORT: 'not-a-port' });
    const out = collect(child);
    expect(await exitOf(child)).toBe(1);
    expect(out.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Invalid configuration: PORT /)]);
  });

  it('starts, serves the demo (register → login → me), and stops cleanly on SIGTERM', async () => {
    const dbUri = `${inject('mongodbUri').replace(/\/?$/, '/')}proc_${randomBytes(4).toString('hex')}`;
    // Development (vitest sets NODE_ENV=test): the demo finds the server through .data/runtime.json.
    const server = run('server/main.ts', { NODE_ENV: 'development', MONGODB_URI: dbUri, PORT: '0', LOG_LEVEL: 'info' });
    const out = collect(server);
    const exited = exitOf(server);
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`server did not come up: ${out.stderr}`)), 60_000);
      server.stderr.on('data', () => {
        if (out.stderr.includes('wx-login-backend is up')) {
          clearTimeout(timer);
          res();
        }
      });
    });
    const runtime = JSON.parse(readFileSync(join(cwd, '.data/runtime.json'), 'utf8')) as { url: string; simulatorUrl: string };
    expect(runtime.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const demo = run('scripts/demo.ts', {});
    const demoOut = collect(demo);
    expect(await exitOf(demo)).toBe(0);
    expect(demoOut.stdout).toContain('USER_NOT_REGISTERED');
    expect(demoOut.stdout).toContain('"isNewUser":false');
    expect(demoOut.stdout).toContain('Done: register → login → me all worked.');

    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out.stdout).toContain('"msg":"stopped"');
  });
});
