import jwt from 'jsonwebtoken';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WxCloudApi } from '../client';
import { createCaller, createContext } from '../server/root';
import { createCloudGateway, type CloudGateway, type CloudPhoneUser } from '../server/infra/dev/wechatSimulator/cloudGateway';
import { createMiniProgramRealm, REALM_VARIANTS, type MiniProgramRealm, type RealmVariant } from './helpers/miniProgramRealm';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';
import { installCloudWx } from './helpers/wxCloudStandIn';

/**
 * The built client with transport 'cloud', in a realm with only a mini program's globals, its
 * wx.cloud.callContainer doing real HTTP through the gateway stand-in to a server in Cloud
 * Hosting mode. Every test runs in both realm variants.
 */
const ENV = 'prod-9z8y';
const SERVICE = 'wxlogin';
const SESSION = 'wxlogin.session';

const t = useTestBackend({ WECHAT_CLOUD_HOSTING: 'true', WECHAT_OPEN_API_SERVICE: 'true' });
let gateway: CloudGateway;
beforeAll(async () => {
  gateway = createCloudGateway({ upstream: t.url, env: ENV, service: SERVICE });
  await gateway.start();
});
afterAll(() => gateway.stop());

describe.each(REALM_VARIANTS)('the built client over wx.cloud.callContainer in $name', (variant: RealmVariant) => {
  const realms: MiniProgramRealm[] = [];
  afterEach(() => {
    for (const realm of realms.splice(0)) realm.dispose();
  });

  /** A phone of this user (a new one by default) with the bundle loaded and a cloud client made. */
  async function phone(opts: { user?: CloudPhoneUser; service?: string; env?: string } = {}) {
    const user = opts.user ?? { appId: t.backend.wechatApps[0]!.appId, openId: uniqueOpenId('cloudclient') };
    const realm = createMiniProgramRealm(variant);
    realms.push(realm);
    const wx = installCloudWx(realm, gateway.phone(user), ENV);
    const lib = await realm.loadClient();
    const registrations: string[] = [];
    const client = lib.createMiniProgramClient({
      transport: 'cloud',
      env: opts.env ?? ENV,
      service: opts.service ?? SERVICE,
      wx: realm.evaluate<WxCloudApi>('wx'),
      onRegister: ({ registrationTicket }) => {
        registrations.push(registrationTicket);
        return realm.json({ profile: { nickName: 'Yun' } });
      },
    });
    const reasonOf = (promise: Promise<unknown>) => promise.then(() => 'RESOLVED', (err: unknown) => lib.errorReason(err));
    return { realm, wx, client, registrations, user, reasonOf };
  }

  it('logs in without wx.login: auth.login, then auth.register through onRegister; the typed API works', async () => {
    const { realm, wx, client, registrations, user } = await phone();
    expect(realm.evaluate('typeof wx.login + typeof wx.request')).toBe('undefinedundefined');
    const result = await client.login();
    expect(result).toMatchObject({ isNewUser: true, user: { openId: user.openId, nickName: 'Yun' } });
    expect(registrations).toHaveLength(1);
    const me = await client.api.auth.me.query();
    expect(Object.prototype.toString.call(me.createdAt)).toBe('[object Date]');
    expect(wx.calls.map((p) => p.split('?')[0])).toEqual(['/trpc/auth.login', '/trpc/auth.register', '/trpc/auth.me']);

    // The same user on a second launch: a login, no registration.
    const again = await phone({ user });
    expect(await again.client.login()).toMatchObject({ isNewUser: false, user: { id: result.user.id } });
    expect(again.registrations).toHaveLength(0);
  });

  it('batches calls of one tick into one callContainer request', async () => {
    const { wx, client } = await phone();
    await client.login();
    wx.calls.length = 0;
    const [me, sessions, pong] = await Promise.all([client.api.auth.me.query(), client.api.user.sessions.query(), client.api.ping.query()]);
    expect([me.nickName, sessions.length, pong]).toEqual(['Yun', 1, 'pong']);
    expect(wx.calls).toHaveLength(1);
    expect(wx.calls[0]).toMatch(/^\/trpc\/auth\.me,user\.sessions,ping\?batch=1/);
  });

  it('a call with an expired token refreshes the session by itself; logout ends it on the server', async () => {
    const { wx, client } = await phone();
    await client.login();
    const stored = wx.stored(SESSION) as { accessToken: string };
    const { sid, sub } = jwt.decode(stored.accessToken) as { sid: string; sub: string };
    wx.store(SESSION, { ...stored, accessToken: t.signToken({ sid, exp: Math.floor(Date.now() / 1000) - 5 }, { subject: sub }) });
    wx.calls.length = 0;
    expect((await client.api.auth.me.query()).nickName).toBe('Yun');
    expect(wx.calls.map((p) => p.split('?')[0])).toEqual(['/trpc/auth.me', '/trpc/auth.refresh', '/trpc/auth.me']);

    const before = wx.stored(SESSION) as { accessToken: string };
    await client.logout();
    expect(wx.stored(SESSION)).toBeUndefined();
    const after = await t.fetch('/api/auth/me', { headers: { authorization: `Bearer ${before.accessToken}`, 'x-wx-source': 'wx_client' } });
    expect(((await after.json()) as { error: { reason: string } }).error.reason).toBe('SESSION_REVOKED');
  });

  it("errors keep their reasons: the server's, and NETWORK when callContainer fails", async () => {
    const banned = await phone();
    const { user } = await banned.client.login();
    await createCaller(createContext({ services: t.backend.services, admin: true })).admin.banUser({ id: user.id });
    expect(await banned.reasonOf(banned.client.api.auth.me.query())).toBe('USER_BANNED');

    const lost = await phone({ service: 'no-such-service' });
    expect(await lost.reasonOf(lost.client.api.ping.query())).toBe('NETWORK');
    const elsewhere = await phone({ env: 'another-env' });
    expect(await elsewhere.reasonOf(elsewhere.client.login())).toBe('NETWORK');
  });

  it('binds the phone number from the getPhoneNumber cloudID', async () => {
    const { client, user, reasonOf } = await phone();
    await client.login();
    const number = `136${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const cloudID = gateway.phone(user).phoneCloudID({ purePhoneNumber: number, countryCode: '86' });
    const bound = await client.bindPhoneByCloudID(cloudID);
    expect(bound.phone).toEqual({ countryCode: '86', purePhoneNumber: number, phoneNumber: number });
    expect(Object.prototype.toString.call(bound.createdAt)).toBe('[object Date]');
    expect(await reasonOf(client.bindPhoneByCloudID('sim_expired_or_unknown'))).toBe('INVALID_INPUT');
  });
});
