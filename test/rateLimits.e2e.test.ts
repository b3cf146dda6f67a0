import { describe, expect, it } from 'vitest';
import { expectReason } from './helpers/expectError';
import { uniqueOpenId, useTestBackend, type TestBackend } from './helpers/testBackend';

// What one client can make the server do: calls per batch, calls per user to the procedures that
// call WeChat or write, and which addresses share a per-IP bucket.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

async function signUp(t: TestBackend) {
  const openid = uniqueOpenId('limits');
  const login = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
  return { openid, token: login.accessToken, userId: login.user.id };
}

/** A batched GET of `calls` procedure paths, as httpBatchLink sends it. */
function batchGet(t: TestBackend, paths: string[], token?: string) {
  return t.fetch(`/trpc/${paths.join(',')}?batch=1`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

describe('calls per batch (TRPC_BATCH_MAX_CALLS = 5)', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto', TRPC_BATCH_MAX_CALLS: '5' });

  it('a batch over the limit is 413 PAYLOAD_TOO_LARGE and none of its calls runs', async () => {
    const { token } = await signUp(t);
    t.sim.resetStats();
    const res = await batchGet(t, Array(6).fill('user.checkSession'), token);
    expect(res.status).toBe(413);
    const body = (await res.json()) as Json;
    expect(body.error.json.data).toMatchObject({ reason: 'PAYLOAD_TOO_LARGE', httpStatus: 413 });
    expect(body.error.json.message).toBe('A batch holds at most 5 calls; this one has 6');
    expect(t.sim.stats().checksession).toBe(0);

    const within = await batchGet(t, Array(5).fill('user.checkSession'), token);
    expect(within.status).toBe(200);
    expect((await within.json()) as Json[]).toHaveLength(5);
    expect(t.sim.stats().checksession).toBe(5);
  });

  it('a typed client sees the reason on every call of the refused batch', async () => {
    const api = t.client({ batch: true });
    const calls = Array.from({ length: 6 }, () => api.ping.query());
    for (const call of calls) await expectReason(call, 'PAYLOAD_TOO_LARGE', 413);
  });
});

describe('calls per batch: the default is 20', () => {
  const t = useTestBackend();

  it('20 calls pass, 21 are refused', async () => {
    expect((await batchGet(t, Array(20).fill('ping'))).status).toBe(200);
    const over = await batchGet(t, Array(21).fill('ping'));
    expect(over.status).toBe(413);
    expect(((await over.json()) as Json).error.json.data.reason).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('calls per user to the procedures that call WeChat or write (RATE_LIMIT_USER_PER_MIN = 3)', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto', RATE_LIMIT_USER_PER_MIN: '3' });

  const phone = () => ({ purePhoneNumber: `139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`, countryCode: '86' });
  const upload = (token: string) => {
    const form = new FormData();
    form.append('file', new Blob([PNG], { type: 'image/png' }), 'a.png');
    return t.fetch('/avatar', { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
  };

  const procedures: [string, (t: TestBackend, user: { token: string; openid: string }) => Promise<unknown>][] = [
    ['user.bindPhone', (t, u) => t.client({ token: u.token }).user.bindPhone.mutate({ code: t.sim.app.phoneCode(u.openid, phone()) })],
    ['user.checkSession', (t, u) => t.client({ token: u.token }).user.checkSession.query()],
    ['user.updateProfile', (t, u) => t.client({ token: u.token }).user.updateProfile.mutate({ nickName: 'Limited' })],
  ];

  it.each(procedures)('%s: the 4th call in a minute is 429 RATE_LIMITED with retryAfterS; other users are not affected', async (_name, call) => {
    const user = await signUp(t);
    for (let i = 0; i < 3; i++) await call(t, user);
    const err = await expectReason(call(t, user), 'RATE_LIMITED', 429);
    expect(err.data.retryAfterS).toBeGreaterThan(0);
    await call(t, await signUp(t));
  });

  it('POST /avatar: the 4th upload in a minute is 429 RATE_LIMITED with Retry-After', async () => {
    const user = await signUp(t);
    for (let i = 0; i < 3; i++) expect((await upload(user.token)).status).toBe(200);
    const res = await upload(user.token);
    expect(res.status).toBe(429);
    const body = (await res.json()) as Json;
    expect(body.error).toMatchObject({ reason: 'RATE_LIMITED', retryAfterS: expect.any(Number) });
    expect(res.headers.get('retry-after')).toBe(String(body.error.retryAfterS));
  });

  it('one bucket for all of them: three profile updates leave no check of the session', async () => {
    const user = await signUp(t);
    for (let i = 0; i < 3; i++) await t.client({ token: user.token }).user.updateProfile.mutate({ nickName: `N${i}` });
    await expectReason(t.client({ token: user.token }).user.checkSession.query(), 'RATE_LIMITED', 429);
  });

  it('a batch cannot get around it: of 10 checkSession calls, 3 reach WeChat', async () => {
    const user = await signUp(t);
    t.sim.resetStats();
    const res = await batchGet(t, Array(10).fill('user.checkSession'), user.token);
    const items = (await res.json()) as Json[];
    expect(items.filter((i) => i.result).length).toBe(3);
    expect(items.filter((i) => i.error?.json.data.reason === 'RATE_LIMITED').length).toBe(7);
    expect(t.sim.stats().checksession).toBe(3);
  });

  it('reads (auth.me, user.sessions) are not counted', async () => {
    const user = await signUp(t);
    const api = t.client({ token: user.token });
    for (let i = 0; i < 5; i++) await Promise.all([api.auth.me.query(), api.user.sessions.query()]);
    await api.user.checkSession.query();
  });
});

describe('per-IP buckets (TRUST_PROXY, RATE_LIMIT_IP_PER_MIN = 2)', () => {
  const t = useTestBackend({ TRUST_PROXY: 'true', RATE_LIMIT_IP_PER_MIN: '2' });

  /** An auth.refresh from this client address (as the proxy says): 401 until the bucket is full. */
  async function refreshFrom(ip: string): Promise<string> {
    const res = await t.fetch('/trpc/auth.refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify({ json: { refreshToken: 'unknown' } }),
    });
    return ((await res.json()) as Json).error.json.data.reason as string;
  }

  it('an IPv4-mapped IPv6 address shares the bucket of its IPv4 address', async () => {
    expect(await refreshFrom('198.51.100.7')).toBe('REFRESH_TOKEN_INVALID');
    expect(await refreshFrom('198.51.100.7')).toBe('REFRESH_TOKEN_INVALID');
    expect(await refreshFrom('::ffff:198.51.100.7')).toBe('RATE_LIMITED');
    expect(await refreshFrom('::FFFF:c633:6407')).toBe('RATE_LIMITED'); // the same, in hex
    expect(await refreshFrom('198.51.100.8')).toBe('REFRESH_TOKEN_INVALID');
  });

  it('IPv6 addresses share a bucket per /64: the addresses of one network count together', async () => {
    expect(await refreshFrom('2001:db8:aa:1::1')).toBe('REFRESH_TOKEN_INVALID');
    expect(await refreshFrom('2001:db8:aa:1:ffff:ffff:ffff:fffe')).toBe('REFRESH_TOKEN_INVALID');
    expect(await refreshFrom('2001:0db8:00aa:0001:1234::9')).toBe('RATE_LIMITED');
    expect(await refreshFrom('2001:db8:aa:2::1')).toBe('REFRESH_TOKEN_INVALID'); // the next /64
  });
});
