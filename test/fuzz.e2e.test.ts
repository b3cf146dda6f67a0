import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from './helpers/testBackend';

let t: TestBackend;
beforeAll(async () => { t = await startTestBackend({ AUTH_REGISTRATION: 'auto' }); });
afterAll(async () => { await t.stop(); });

it('probe', async () => {
  const login = await t.client().auth.login.mutate({ code: t.wxLogin('o_probe_1') });
  const b64 = (s: string) => Buffer.from(s).toString('base64url');
  const cases: [string, RequestInit][] = [
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: 'x', meta: { values: ['bigint'] } }) }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: {code: 'x'}, meta: { values: {code: ['custom', 'Y']} } }) }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: {code: 'x'}, meta: { values: {'__proto__': ['Date']} } }) }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '5' }],
    ['/trpc/auth.logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' }],
    ['/trpc/ping?input=' + encodeURIComponent('{"json":'), {}],
    ['/trpc/ping?input=null', {}],
    ['/trpc/ping?input=' + encodeURIComponent(JSON.stringify({ json: 'x', meta: { values: ['bigint'] } })), {}],
    ['/trpc/auth.me?input=' + 'x'.repeat(100_000), {}],
    ['/trpc/auth.me', { headers: { authorization: `Bearer ${b64('{"typ":"JWT"}')}.${b64('nope')}.sig` } }],
    ['/trpc/auth.me', { headers: { authorization: `Bearer ${b64('{"typ":"JWT","kid":1}')}.${b64('{}')}.sig` } }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: '--x\r\n' }],
    ['/trpc/auth.login', { method: 'POST', body: new Uint8Array([0xff, 0xfe, 0x00]) }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x22, 0xff, 0xfe, 0x22]) }],
    ['/trpc/auth.login', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(100_000) }],
    ['/trpc/auth.login?batch=1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1]' }],
    ['/trpc/auth.login,ping?batch=1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }],
    ['/trpc/%E0%A4%A', { method: 'GET' }],
    ['/trpc/auth.refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: { refreshToken: login.refreshToken }, meta: { referentialEqualities: { 'refreshToken': ['x.y'] } } }) }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: { code: 'a' }, meta: { referentialEqualities: { '__proto__.x': ['code'] } } }) }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: { code: 'a' }, meta: { values: { code: ['map'] } } }) }],
    ['/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: 5, meta: 7 }) }],
  ];
  for (const [path, init] of cases) {
    try {
      const res = await t.fetch(path, init);
      const text = await res.text();
      console.log(res.status, path.slice(0, 60), JSON.stringify(init.body ?? '').slice(0, 80), '=>', text.slice(0, 300));
    } catch (e) { console.log('FETCH ERR', path.slice(0, 60), String(e), (e as any).cause); }
  }
  expect(1).toBe(1);
}, 60_000);
