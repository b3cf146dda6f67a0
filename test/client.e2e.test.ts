import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { RegistrationData } from '../client';
import type { MeOutput } from '../shared';
import { expectReason } from './helpers/expectError';
import {
  createMiniProgramRealm,
  ECMASCRIPT_GLOBALS,
  MINI_PROGRAM_GLOBALS,
  REALM_VARIANTS,
  type MiniProgramRealm,
  type RealmVariant,
} from './helpers/miniProgramRealm';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';
import { installWx, type WxStandIn } from './helpers/wxStandIn';

/**
 * The mini program client as it ships (the built bundle) in a realm with only a mini program's
 * globals, against the real server over real HTTP, with codes from the WeChat simulator. Every
 * test runs in both realm variants: with and without `globalThis`.
 */
const t = useTestBackend({ AUTH_REGISTRATION: 'explicit' });

const profile: RegistrationData = { profile: { nickName: 'Mini', avatarUrl: 'https://example.com/m.png' } };
const SESSION = 'wxlogin.session';

/** A local HTTP server with a canned behaviour, on loopback. */
async function fakeServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
const close = (server: Server) =>
  new Promise<void>((res) => {
    server.closeAllConnections();
    server.close(() => res());
  });

describe.each(REALM_VARIANTS)('the built client in $name', (variant: RealmVariant) => {
  const realms: MiniProgramRealm[] = [];
  afterEach(() => {
    for (const realm of realms.splice(0)) realm.dispose();
  });

  interface PhoneOptions {
    batch?: boolean;
    onRegister?: () => RegistrationData | null;
    url?: string;
    timeoutMs?: number;
  }

  /** A fresh phone: its own realm, `wx`, and the bundle loaded into it. */
  async function phone(openid = uniqueOpenId('phone'), opts: PhoneOptions = {}) {
    const realm = createMiniProgramRealm(variant);
    realms.push(realm);
    const wx: WxStandIn = installWx(realm, t.sim.app, openid);
    const lib = await realm.loadClient();
    const registrations: string[] = [];
    const client = lib.createMiniProgramClient({
      url: opts.url ?? `${t.url}/trpc`,
      wx: realm.evaluate('wx'),
      batch: opts.batch,
      timeoutMs: opts.timeoutMs,
      onRegister: ({ registrationTicket }) => {
        registrations.push(registrationTicket);
        const data = opts.onRegister ? opts.onRegister() : profile;
        return data && realm.json(data);
      },
    });
    /** The client's reason for how `promise` failed ('RESOLVED' if it did not). */
    const reasonOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'RESOLVED',
        (err: unknown) => lib.errorReason(err),
      );
    return { realm, wx, lib, client, registrations, openid, reasonOf };
  }

  /** The stored token, re-signed as expired: what a phone holds after two hours in the background. */
  function expireStoredToken(wx: WxStandIn) {
    const stored = wx.stored(SESSION) as { accessToken: string };
    const { sid, sub } = jwt.decode(stored.accessToken) as { sid: string; sub: string };
    const accessToken = t.signToken({ sid, exp: Math.floor(Date.now() / 1000) - 5 }, { subject: sub });
    wx.store(SESSION, { ...stored, accessToken, expiresAt: Date.now() - 1000 });
  }

  describe('the realm', () => {
    it('has only a mini program’s globals, and the client adds none', async () => {
      const { realm, client } = await phone();
      const allowed = new Set([...ECMASCRIPT_GLOBALS, ...MINI_PROGRAM_GLOBALS]);
      const before = realm.globalNames();
      expect(before.filter((name) => !allowed.has(name))).toEqual([]);
      for (const name of ['FormData', 'Blob', 'fetch', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'AbortController', 'AbortSignal', 'process', 'Buffer', 'require', 'global', 'window', 'queueMicrotask', 'WebAssembly']) {
        expect(realm.evaluate(`typeof ${name}`), name).toBe('undefined');
      }
      expect(realm.evaluate('typeof globalThis')).toBe(variant.globalThis ? 'object' : 'undefined');

      await client.login();
      await client.api.auth.me.query();
      await client.logout();
      // What tRPC's links need is bound inside the bundle: the app's global object is left alone.
      expect(realm.globalNames().sort()).toEqual(before.sort());
    });
  });

  describe('login flow', () => {
    it('first launch registers through onRegister, keeps the token, and me works', async () => {
      const { realm, wx, client, registrations, openid } = await phone();
      const result = await client.login();
      expect(result.isNewUser).toBe(true);
      expect(result.user).toMatchObject({ openId: openid, nickName: 'Mini' });
      expect(registrations).toHaveLength(1);
      expect(client.session()?.accessToken).toEqual(expect.any(String));
      expect(wx.stored(SESSION)).toMatchObject({ userId: result.user.id });

      const me = await client.api.auth.me.query();
      expect(me.id).toBe(result.user.id);
      expect(me.createdAt).toBeInstanceOf(realm.evaluate('Date')); // superjson, in the realm
      expect(wx.counts.login).toBe(1);
    });

    it('a returning user logs in without registering', async () => {
      const first = await phone();
      await first.client.login();
      const again = await phone(first.openid);
      const result = await again.client.login();
      expect(result.isNewUser).toBe(false);
      expect(again.registrations).toHaveLength(0);
    });

    it('a protected call with no session logs in by itself, once', async () => {
      const { wx, client } = await phone();
      const me = await client.api.auth.me.query();
      expect(me.nickName).toBe('Mini');
      expect(wx.counts.login).toBe(1);
    });

    it('declining registration fails with REGISTRATION_DECLINED and creates nobody', async () => {
      const { client, openid, reasonOf } = await phone(undefined, { onRegister: () => null });
      expect(await reasonOf(client.login())).toBe('REGISTRATION_DECLINED');
      expect(await t.backend.services.db.User.countDocuments({ openId: openid })).toBe(0);
    });

    it('a failing wx.login is WX_LOGIN_FAILED', async () => {
      const { wx, client, reasonOf } = await phone();
      wx.failLogins(1);
      expect(await reasonOf(client.login())).toBe('WX_LOGIN_FAILED');
    });
  });

  describe('account deletion', () => {
    it('deleteAccount proves presence with wx.login, deletes, and forgets the session; the same person comes back as a new user', async () => {
      const { wx, client, registrations } = await phone();
      const first = await client.login();
      const { refreshToken } = client.session()!;
      const logins = wx.counts.login;
      expect(await client.deleteAccount()).toEqual({ status: 'deleted' });
      expect(wx.counts.login).toBe(logins + 1);
      expect(client.session()).toBeNull();
      expect(wx.storedKeys()).toEqual([]);
      await expectReason(t.client().auth.refresh.mutate({ refreshToken }), 'REFRESH_TOKEN_INVALID');
      const again = await client.login();
      expect(again.user.id).not.toBe(first.user.id);
      expect(registrations).toHaveLength(2);
    });

    it('with a cooling-off period: deleteAccount answers the scheduled time, login is ACCOUNT_DELETION_PENDING, cancelDeletion brings the account back', async () => {
      // As ACCOUNT_DELETION_DELAY_DAYS=7 would configure it (the backend reads it at each request).
      const deletion = t.backend.services.accountDeletion;
      const before = deletion.delayDays;
      deletion.delayDays = 7;
      try {
        const { wx, client, reasonOf } = await phone();
        const first = await client.login();
        const answer = await client.deleteAccount();
        expect(answer).toMatchObject({ status: 'scheduled' });
        expect(answer.status === 'scheduled' && answer.scheduledFor.getTime() - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
        expect(client.session()).toBeNull();
        expect(wx.storedKeys()).toEqual([]);
        expect(await reasonOf(client.login())).toBe('ACCOUNT_DELETION_PENDING');
        await client.cancelDeletion();
        const back = await client.login();
        expect(back.user.id).toBe(first.user.id);
        expect((await client.api.auth.me.query()).id).toBe(first.user.id);
      } finally {
        deletion.delayDays = before;
      }
    });

    it('cancelDeletion with nothing pending is NO_DELETION_PENDING, typed', async () => {
      const { wx, client, reasonOf } = await phone();
      await client.login();
      const logins = wx.counts.login;
      expect(await reasonOf(client.cancelDeletion())).toBe('NO_DELETION_PENDING');
      expect(wx.counts.login).toBe(logins + 1);
    });
  });

  describe('logout', () => {
    it('ends the session on the server and forgets it; the next call logs in again', async () => {
      const { wx, client } = await phone();
      await client.login();
      const { refreshToken } = client.session()!;
      await client.logout();
      expect(client.session()).toBeNull();
      expect(wx.storedKeys()).toEqual([]);
      await expectReason(t.client().auth.refresh.mutate({ refreshToken }), 'REFRESH_TOKEN_INVALID');
      await client.api.auth.me.query();
      expect(wx.counts.login).toBe(2);
    });

    it('with an expired access token still ends the session on the server (through one refresh)', async () => {
      const { wx, client } = await phone();
      const { user } = await client.login();
      expireStoredToken(wx);
      await client.logout();
      expect(client.session()).toBeNull();
      // The session was rotated once (generation 1), then logged out (generation 2).
      const sessions = await t.backend.services.db.Session.find({ userId: user.id }).lean();
      expect(sessions).toEqual([expect.objectContaining({ revokedReason: 'logout', generation: 2 })]);
    });

    it('that cannot reach the server rejects with the reason, and the phone forgets the session anyway', async () => {
      const { wx, client, reasonOf } = await phone();
      await client.login();
      const { refreshToken } = client.session()!;
      wx.failRequests(1);
      expect(await reasonOf(client.logout())).toBe('NETWORK');
      expect(client.session()).toBeNull();
      // Still alive on the server: that is what the rejection tells the app.
      const renewed = await t.client().auth.refresh.mutate({ refreshToken });
      await t.client({ token: renewed.accessToken }).auth.logout.mutate();
    });

    it('of a session already ended elsewhere resolves', async () => {
      const { client } = await phone();
      const { user } = await client.login();
      await t.backend.services.db.Session.updateMany({ userId: user.id }, { $set: { revokedAt: new Date(), revokedReason: 'logout_all' } });
      await client.logout();
      expect(client.session()).toBeNull();
    });

    it('while a renewal is in flight leaves no session behind, on the phone or the server', async () => {
      const { wx, client } = await phone();
      const { user } = await client.login();
      expireStoredToken(wx);
      const refresh = wx.hold('/auth.refresh');
      const call = client.api.auth.me.query().catch(() => undefined);
      // auth.me was refused and auth.refresh is on its way: log out now.
      await refresh.sent();
      const loggedOut = client.logout();
      refresh.release();
      await loggedOut;
      await call;
      expect(client.session()).toBeNull();
      const live = await t.backend.services.db.Session.countDocuments({ userId: user.id, revokedAt: null });
      expect(live).toBe(0);
    });

    it('with no session does nothing', async () => {
      const { wx, client } = await phone();
      await client.logout();
      expect(wx.counts.request).toBe(0);
    });
  });

  describe('expired tokens', () => {
    it('an expired access token is renewed with auth.refresh (no wx.login) and the call retried', async () => {
      const { wx, client } = await phone();
      const { user } = await client.login();
      const before = client.session()!;
      expireStoredToken(wx);
      const me = await client.api.auth.me.query();
      expect(me.id).toBe(user.id);
      expect(wx.counts.login).toBe(1);
      expect(client.session()!.refreshToken).not.toBe(before.refreshToken); // rotated
    });

    it('when the refresh fails too (session ended elsewhere), a silent login takes over', async () => {
      const { wx, client } = await phone();
      const { user } = await client.login();
      await t.backend.services.db.Session.updateMany({ userId: user.id }, { $set: { revokedAt: new Date(), revokedReason: 'logout_all' } });
      expireStoredToken(wx);
      const me = await client.api.auth.me.query();
      expect(me.id).toBe(user.id);
      expect(wx.counts.login).toBe(2);
    });

    it.each([true, false])('20 concurrent calls on an expired token trigger one refresh (batch %s)', async (batch) => {
      const { wx, client } = await phone(undefined, { batch });
      const { user } = await client.login();
      expireStoredToken(wx);
      t.sim.resetStats();
      const results = await Promise.all(Array.from({ length: 20 }, () => client.api.auth.me.query()));
      expect(results.every((r) => r.id === user.id)).toBe(true);
      expect(wx.counts.login).toBe(1);
      expect(t.sim.stats().jscode2session).toBe(0);
      // One session, rotated exactly once.
      expect(await t.backend.services.db.Session.find({ userId: user.id }, { generation: 1 }).lean()).toEqual([expect.objectContaining({ generation: 1 })]);
    });

    it('50 calls in one tick all succeed: batches stay within the server\'s TRPC_BATCH_MAX_CALLS (20)', async () => {
      const { wx, client } = await phone();
      const { user } = await client.login();
      const before = wx.counts.request;
      const results = await Promise.all(Array.from({ length: 50 }, () => client.api.auth.me.query()));
      expect(results.every((r) => r.id === user.id)).toBe(true);
      // 50 calls in batches of at most 20: three requests.
      expect(wx.counts.request - before).toBe(3);
    });

    it('20 concurrent calls with no session at all trigger one login', async () => {
      const { client, openid } = await phone();
      await client.login(); // registered
      const again = await phone(openid);
      t.sim.resetStats();
      await Promise.all(Array.from({ length: 20 }, () => again.client.api.auth.me.query()));
      expect(again.wx.counts.login).toBe(1);
      expect(t.sim.stats().jscode2session).toBe(1);
    });

    it('a token that stays bad after one re-login is reported, not retried forever', async () => {
      const { wx, client, reasonOf } = await phone();
      const { user } = await client.login();
      await t.backend.services.db.User.updateOne({ _id: user.id }, { $set: { status: 'banned' } });
      expireStoredToken(wx);
      expect(await reasonOf(client.api.auth.me.query())).toBe('USER_BANNED');
      expect(wx.counts.login).toBe(2);
    });
  });

  describe('batching', () => {
    it.each([
      [true, 1],
      [false, 3],
    ])('three calls made together (batch %s) take %i request(s)', async (batch, requests) => {
      const { wx, client } = await phone(undefined, { batch });
      const { user } = await client.login();
      const sent = wx.counts.request;
      const [me, pong, sessions] = await Promise.all([client.api.auth.me.query(), client.api.ping.query(), client.api.user.sessions.query()]);
      expect(wx.counts.request - sent).toBe(requests);
      expect(me.id).toBe(user.id);
      expect(pong).toBe('pong');
      expect(sessions).toHaveLength(1);
    });
  });

  describe('errors are typed', () => {
    it.each([true, false])('a server reason comes through as is (batch %s)', async (batch) => {
      const { client, realm, reasonOf } = await phone(undefined, { batch });
      expect(await reasonOf(client.api.auth.login.mutate(realm.json({ code: 'nope' })))).toBe('WECHAT_CODE_INVALID');
      expect(await reasonOf(client.api.auth.register.mutate(realm.json({ code: 'a', registrationTicket: 'b' })))).toBe('INVALID_INPUT');
    });

    it('server down → NETWORK', async () => {
      const { url, server } = await fakeServer(() => {});
      await close(server);
      const { client, reasonOf } = await phone(undefined, { url: `${url}/trpc` });
      expect(await reasonOf(client.api.ping.query())).toBe('NETWORK');
      expect(await reasonOf(client.login())).toBe('NETWORK');
    });

    it('no answer in time → TIMEOUT', async () => {
      const { url, server } = await fakeServer(() => {}); // never answers
      try {
        const { client, reasonOf } = await phone(undefined, { url: `${url}/trpc`, timeoutMs: 300 });
        expect(await reasonOf(client.api.ping.query())).toBe('TIMEOUT');
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
        const { client, reasonOf } = await phone(undefined, { url: `${url}/trpc` });
        expect(await reasonOf(client.api.ping.query())).toBe('BAD_RESPONSE');
      } finally {
        await close(server);
      }
    });

    it('a wrong URL on the real server → a typed error, not a crash', async () => {
      const { client, reasonOf } = await phone(undefined, { url: `${t.url}/wrong` });
      expect(await reasonOf(client.api.ping.query())).toBe('BAD_RESPONSE');
    });
  });
});

describe('types', () => {
  it('the bundle’s API is inferred from AppRouter', async () => {
    const realm = createMiniProgramRealm(REALM_VARIANTS[0]!);
    try {
      const lib = await realm.loadClient();
      installWx(realm, t.sim.app, uniqueOpenId());
      const client = lib.createMiniProgramClient({ url: `${t.url}/trpc`, wx: realm.evaluate('wx') });
      expect(typeof client.api.auth.me.query).toBe('function');
      expectTypeOf(client.api.auth.me.query).returns.resolves.toEqualTypeOf<MeOutput>();
      expectTypeOf(client.login).returns.resolves.toHaveProperty('isNewUser').toEqualTypeOf<boolean>();
      // @ts-expect-error: register needs code or registrationTicket typed as strings
      void (() => client.api.auth.register.mutate({ code: 1 }));
    } finally {
      realm.dispose();
    }
  });
});
