import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createMiniProgramClient, errorReason, type RegistrationData } from '../client';
import type { UserOutput } from '../shared';
import { expectReason } from './helpers/expectError';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';
import { createWxStandIn } from './helpers/wxStandIn';

const t = useTestBackend({ AUTH_REGISTRATION: 'explicit' });

const profile: RegistrationData = { profile: { nickName: 'Mini', avatarUrl: 'https://example.com/m.png' } };

function phone(openid = uniqueOpenId('phone'), opts: { batch?: boolean; onRegister?: () => RegistrationData | null } = {}) {
  const wx = createWxStandIn(t.sim.app, openid);
  const registrations: string[] = [];
  const client = createMiniProgramClient({
    url: `${t.url}/trpc`,
    wx,
    batch: opts.batch,
    onRegister: ({ registrationTicket }) => {
      registrations.push(registrationTicket);
      return opts.onRegister ? opts.onRegister() : profile;
    },
  });
  return { wx, client, registrations, openid };
}

/** The stored token, re-signed as expired: what a phone holds after two hours in the background. */
function expireStoredToken(wx: ReturnType<typeof createWxStandIn>) {
  const stored = wx.getStorageSync('wxlogin.session') as { accessToken: string; userId: string };
  const { sid, sub } = jwt.decode(stored.accessToken) as { sid: string; sub: string };
  const accessToken = t.signToken({ sid, exp: Math.floor(Date.now() / 1000) - 5 }, { subject: sub });
  wx.setStorageSync('wxlogin.session', { ...stored, accessToken, expiresAt: Date.now() - 1000 });
}

describe('login flow', () => {
  it('first launch registers through onRegister, keeps the token, and me works', async () => {
    const { wx, client, registrations, openid } = phone();
    const result = await client.login();
    expect(result.isNewUser).toBe(true);
    expect(result.user).toMatchObject({ openId: openid, nickName: 'Mini' });
    expect(registrations).toHaveLength(1);
    expect(client.session()?.accessToken).toEqual(expect.any(String));
    expect(wx.storage.get('wxlogin.session')).toMatchObject({ userId: result.user.id });

    const me = await client.api.auth.me.query();
    expect(me.id).toBe(result.user.id);
    expect(me.createdAt).toBeInstanceOf(Date);
    expect(wx.counts.login).toBe(1);
  });

  it('a returning user logs in without registering', async () => {
    const first = phone();
    await first.client.login();
    const again = phone(first.openid);
    const result = await again.client.login();
    expect(result.isNewUser).toBe(false);
    expect(again.registrations).toHaveLength(0);
  });

  it('a protected call with no session logs in by itself, once', async () => {
    const { wx, client } = phone();
    const me = await client.api.auth.me.query();
    expect(me.nickName).toBe('Mini');
    expect(wx.counts.login).toBe(1);
  });

  it('declining registration fails with REGISTRATION_DECLINED and creates nobody', async () => {
    const { client, openid } = phone(undefined, { onRegister: () => null });
    const err = await client.login().catch((e: unknown) => e);
    expect(errorReason(err)).toBe('REGISTRATION_DECLINED');
    expect(await t.backend.services.db.User.countDocuments({ openId: openid })).toBe(0);
  });

  it('a failing wx.login is WX_LOGIN_FAILED', async () => {
    const { wx, client } = phone();
    wx.failLogins(1);
    expect(errorReason(await client.login().catch((e: unknown) => e))).toBe('WX_LOGIN_FAILED');
  });

  it('logout ends the session on the server and forgets it; the next call logs in again', async () => {
    const { wx, client } = phone();
    await client.login();
    const { refreshToken } = client.session()!;
    await client.logout();
    expect(client.session()).toBeNull();
    await expectReason(t.client().auth.refresh.mutate({ refreshToken }), 'REFRESH_TOKEN_INVALID');
    await client.api.auth.me.query();
    expect(wx.counts.login).toBe(2);
  });
});

describe('expired tokens', () => {
  it('an expired access token is renewed with auth.refresh (no wx.login) and the call retried', async () => {
    const { wx, client } = phone();
    const { user } = await client.login();
    const before = client.session()!;
    expireStoredToken(wx);
    const me = await client.api.auth.me.query();
    expect(me.id).toBe(user.id);
    expect(wx.counts.login).toBe(1);
    expect(client.session()!.refreshToken).not.toBe(before.refreshToken); // rotated
  });

  it('when the refresh fails too (session ended elsewhere), a silent login takes over', async () => {
    const { wx, client } = phone();
    const { user } = await client.login();
    await t.backend.services.db.Session.updateMany({ userId: user.id }, { $set: { revokedAt: new Date(), revokedReason: 'logout_all' } });
    expireStoredToken(wx);
    const me = await client.api.auth.me.query();
    expect(me.id).toBe(user.id);
    expect(wx.counts.login).toBe(2);
  });

  it.each([true, false])('20 concurrent calls on an expired token trigger one refresh (batch %s)', async (batch) => {
    const { wx, client } = phone(undefined, { batch });
    const { user } = await client.login();
    expireStoredToken(wx);
    t.sim.resetStats();
    const results = await Promise.all(Array.from({ length: 20 }, () => client.api.auth.me.query()));
    expect(results.every((r) => r.id === user.id)).toBe(true);
    expect(wx.counts.login).toBe(1);
    expect(t.sim.stats().jscode2session).toBe(0);
    // The first refresh token and exactly one rotation of it.
    expect(await t.backend.services.db.Session.countDocuments({ userId: user.id })).toBe(2);
  });

  it('20 concurrent calls with no session at all trigger one login', async () => {
    const { wx, client } = phone();
    await client.login(); // registered
    const again = phone(wx.openid);
    t.sim.resetStats();
    await Promise.all(Array.from({ length: 20 }, () => again.client.api.auth.me.query()));
    expect(again.wx.counts.login).toBe(1);
    expect(t.sim.stats().jscode2session).toBe(1);
  });

  it('a token that stays bad after one re-login is reported, not retried forever', async () => {
    const { wx, client } = phone();
    const { user } = await client.login();
    await t.backend.services.db.User.updateOne({ _id: user.id }, { $set: { status: 'banned' } });
    expireStoredToken(wx);
    const err = await client.api.auth.me.query().catch((e: unknown) => e);
    expect(errorReason(err)).toBe('USER_BANNED');
    expect(wx.counts.login).toBe(2);
  });
});

describe('transport failures are typed', () => {
  /** A local HTTP server with a canned behaviour, on loopback. */
  async function fakeServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
    const server = createServer(handler);
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  }
  const close = (server: Server) => new Promise<void>((res) => {
    server.closeAllConnections();
    server.close(() => res());
  });

  it('server down → NETWORK', async () => {
    const { url, server } = await fakeServer(() => {});
    await close(server);
    const wx = createWxStandIn(t.sim.app, uniqueOpenId());
    const client = createMiniProgramClient({ url: `${url}/trpc`, wx });
    expect(errorReason(await client.api.ping.query().catch((e: unknown) => e))).toBe('NETWORK');
    expect(errorReason(await client.login().catch((e: unknown) => e))).toBe('NETWORK');
  });

  it('no answer in time → TIMEOUT', async () => {
    const { url, server } = await fakeServer(() => {}); // never answers
    try {
      const wx = createWxStandIn(t.sim.app, uniqueOpenId());
      const client = createMiniProgramClient({ url: `${url}/trpc`, wx, timeoutMs: 300 });
      expect(errorReason(await client.api.ping.query().catch((e: unknown) => e))).toBe('TIMEOUT');
    } finally {
      await close(server);
    }
  });

  it('a 500 with an HTML page → BAD_RESPONSE', async () => {
    const { url, server } = await fakeServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<html><body>Internal Server Error</body></html>');
    });
    try {
      const client = createMiniProgramClient({ url: `${url}/trpc`, wx: createWxStandIn(t.sim.app, uniqueOpenId()) });
      expect(errorReason(await client.api.ping.query().catch((e: unknown) => e))).toBe('BAD_RESPONSE');
    } finally {
      await close(server);
    }
  });

  it('a wrong URL on the real server → a typed error, not a crash', async () => {
    const client = createMiniProgramClient({ url: `${t.url}/wrong`, wx: createWxStandIn(t.sim.app, uniqueOpenId()) });
    const reason = errorReason(await client.api.ping.query().catch((e: unknown) => e));
    expect(reason).toBe('BAD_RESPONSE');
  });

  it('a server error reason comes through as is', async () => {
    const { client } = phone();
    const err = await client.api.auth.login.mutate({ code: 'nope' }).catch((e: unknown) => e);
    expect(errorReason(err)).toBe('WECHAT_CODE_INVALID');
  });
});

describe('types', () => {
  it('the proxy is inferred from AppRouter', () => {
    const { client } = phone();
    expectTypeOf(client.api.auth.me.query).returns.resolves.toEqualTypeOf<UserOutput>();
    expectTypeOf(client.login).returns.resolves.toHaveProperty('isNewUser').toEqualTypeOf<boolean>();
    // @ts-expect-error: register needs code or registrationTicket typed as strings
    void (() => client.api.auth.register.mutate({ code: 1 }));
  });
});
