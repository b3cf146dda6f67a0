import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMiniProgramClient, errorReason } from '../client';
import { createCaller, createContext } from '../server/root';
import { createCloudGateway, type CloudGateway } from '../server/wechat/simulator/cloudGateway';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';
import { createWxCloudStandIn } from './helpers/wxCloudStandIn';

const ENV = 'prod-9z8y';
const SERVICE = 'wxlogin';

describe('the mini program client over wx.cloud.callContainer (WeChat Cloud Hosting)', () => {
  const t = useTestBackend({ WECHAT_CLOUD_HOSTING: 'true', WECHAT_OPEN_API_SERVICE: 'true' });
  let gateway: CloudGateway;

  beforeAll(async () => {
    gateway = createCloudGateway({ upstream: t.url, env: ENV, service: SERVICE });
    await gateway.start();
  });
  afterAll(() => gateway.stop());

  function phone(opts: { service?: string; env?: string } = {}) {
    const user = { appId: t.backend.wechatApps[0]!.appId, openId: uniqueOpenId('cloudclient') };
    const wx = createWxCloudStandIn(gateway.phone(user), ENV);
    const registrations: string[] = [];
    const client = createMiniProgramClient({
      transport: 'cloud',
      env: opts.env ?? ENV,
      service: opts.service ?? SERVICE,
      wx,
      onRegister: ({ registrationTicket }) => {
        registrations.push(registrationTicket);
        return { profile: { nickName: 'Yun' } };
      },
    });
    return { wx, client, registrations, user };
  }

  it('logs in without wx.login: auth.login, then auth.register through onRegister; the typed API works', async () => {
    const { wx, client, registrations, user } = phone();
    const result = await client.login();
    expect(result).toMatchObject({ isNewUser: true, user: { openId: user.openId, nickName: 'Yun' } });
    expect(registrations).toHaveLength(1);
    const me = await client.api.auth.me.query();
    expect(me.createdAt).toBeInstanceOf(Date);
    expect(wx.calls.map((p) => p.split('?')[0])).toEqual(['/trpc/auth.login', '/trpc/auth.register', '/trpc/auth.me']);

    // A second launch of the same user: a login, no registration.
    const again = createMiniProgramClient({ transport: 'cloud', env: ENV, service: SERVICE, wx: createWxCloudStandIn(gateway.phone(user), ENV) });
    expect(await again.login()).toMatchObject({ isNewUser: false, user: { id: result.user.id } });
  });

  it('batches calls of one tick into one callContainer request', async () => {
    const { wx, client } = phone();
    await client.login();
    wx.calls.length = 0;
    const [me, sessions, pong] = await Promise.all([client.api.auth.me.query(), client.api.user.sessions.query(), client.api.ping.query()]);
    expect([me.nickName, sessions.length, pong]).toEqual(['Yun', 1, 'pong']);
    expect(wx.calls).toHaveLength(1);
    expect(wx.calls[0]).toMatch(/^\/trpc\/auth\.me,user\.sessions,ping\?batch=1/);
  });

  it('a call with an expired token refreshes the session by itself', async () => {
    const { wx, client } = phone();
    await client.login();
    const stored = wx.getStorageSync('wxlogin.session') as { accessToken: string };
    const { sid, sub } = jwt.decode(stored.accessToken) as { sid: string; sub: string };
    wx.setStorageSync('wxlogin.session', { ...stored, accessToken: t.signToken({ sid, exp: Math.floor(Date.now() / 1000) - 5 }, { subject: sub }) });
    wx.calls.length = 0;
    expect((await client.api.auth.me.query()).nickName).toBe('Yun');
    expect(wx.calls.map((p) => p.split('?')[0])).toEqual(['/trpc/auth.me', '/trpc/auth.refresh', '/trpc/auth.me']);
  });

  it('errors keep their reasons: the server\'s, and NETWORK when callContainer fails', async () => {
    const banned = phone();
    const { user } = await banned.client.login();
    await createCaller(createContext({ services: t.backend.services, admin: true })).admin.banUser({ id: user.id });
    banned.wx.removeStorageSync('wxlogin.session');
    expect(errorReason(await banned.client.login().catch((e: unknown) => e))).toBe('USER_BANNED');

    const lost = phone({ service: 'no-such-service' });
    expect(errorReason(await lost.client.api.ping.query().catch((e: unknown) => e))).toBe('NETWORK');
    const elsewhere = phone({ env: 'another-env' });
    expect(errorReason(await elsewhere.client.login().catch((e: unknown) => e))).toBe('NETWORK');
  });

  it('binds the phone number from the getPhoneNumber cloudID', async () => {
    const { client, user } = phone();
    await client.login();
    const cloudID = gateway.phone(user).phoneCloudID({ purePhoneNumber: '13600136000', countryCode: '86' });
    const bound = await client.bindPhoneByCloudID(cloudID);
    expect(bound.phone).toEqual({ countryCode: '86', purePhoneNumber: '13600136000', phoneNumber: '13600136000' });
    expect(bound.createdAt).toBeInstanceOf(Date);
    expect(errorReason(await client.bindPhoneByCloudID('sim_expired_or_unknown').catch((e: unknown) => e))).toBe('INVALID_INPUT');
  });
});
