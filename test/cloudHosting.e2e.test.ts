import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config';
import { createCaller, createContext, type AppRouter } from '../server/root';
import { cloudIdStandIn, createCloudGateway, type CloudGateway, type CloudPhone } from '../server/infra/dev/wechatSimulator/cloudGateway';
import { expectReason } from './helpers/expectError';
import { uniqueOpenId, useTestBackend, type TestBackend } from './helpers/testBackend';

const SERVICE = 'wxlogin';
const CN = { purePhoneNumber: '13800138000', countryCode: '86' };

/** The typed client, its requests carried by the phone's wx.cloud.callContainer through the gateway. */
function apiOn(phone: CloudPhone, token?: string) {
  const fetch = async (input: unknown, init: { method?: string; headers?: unknown; body?: unknown } = {}) => {
    const target = new URL(String(input));
    const answer = await phone.callContainer({
      path: target.pathname + target.search,
      method: init.method ?? 'GET',
      header: { ...(init.headers as Record<string, string>), 'X-WX-SERVICE': SERVICE },
      data: init.body as string | undefined,
    });
    return new Response(answer.text, { status: answer.statusCode, headers: answer.header });
  };
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: 'http://container/trpc',
        transformer: superjson,
        fetch,
        headers: () => (token ? { authorization: `Bearer ${token}` } : {}),
      }),
    ],
  });
}

/** A new WeChat user of this app behind the gateway, registered without any code. */
async function registeredPhone(gateway: CloudGateway, appId: string, opts: { unionId?: string; resourceSharing?: boolean } = {}) {
  const phone = gateway.phone({ appId, openId: uniqueOpenId('cloud'), ...opts });
  const registered = await apiOn(phone).auth.register.mutate({ profile: { nickName: 'Cloud' } });
  return { phone, ...registered, api: apiOn(phone, registered.accessToken) };
}

describe('WeChat Cloud Hosting mode, through the gateway stand-in', () => {
  const t: TestBackend = useTestBackend({ WECHAT_CLOUD_HOSTING: 'true', WECHAT_OPEN_API_SERVICE: 'true' }, { simulatorApps: 2 });
  let gateway: CloudGateway;
  const appIds = () => t.backend.wechatApps.map((a) => a.appId);

  beforeAll(async () => {
    gateway = createCloudGateway({ upstream: t.url, env: 'prod-1a2b', service: SERVICE });
    await gateway.start();
  });
  afterAll(() => gateway.stop());

  it('logs in without a code: USER_NOT_REGISTERED with a ticket, register with it, then log in again', async () => {
    const phone = gateway.phone({ appId: appIds()[0]!, openId: uniqueOpenId('new') });
    const api = apiOn(phone);
    const refused = await expectReason(api.auth.login.mutate({}), 'USER_NOT_REGISTERED', 401);
    const registrationTicket = refused.data.registrationTicket!;
    const registered = await api.auth.register.mutate({ registrationTicket, profile: { nickName: 'Mei' } });
    expect(registered.user).toMatchObject({ openId: phone.user.openId, nickName: 'Mei' });

    const again = await api.auth.login.mutate({});
    expect(again).toMatchObject({ isNewUser: false, user: { id: registered.userId, openId: phone.user.openId } });
    expect(await apiOn(phone, again.accessToken).auth.me.query()).toMatchObject({ id: registered.userId, nickName: 'Mei' });
    // No wx.login, no code2Session: WeChat was never asked who this is.
    expect(t.sim.stats().jscode2session).toBe(0);
  });

  it('a ticket is good only for the user the gateway names', async () => {
    const owner = gateway.phone({ appId: appIds()[0]!, openId: uniqueOpenId('owner') });
    const ticket = (await expectReason(apiOn(owner).auth.login.mutate({}), 'USER_NOT_REGISTERED')).data.registrationTicket!;
    const other = gateway.phone({ appId: appIds()[0]!, openId: uniqueOpenId('other') });
    await expectReason(apiOn(other).auth.register.mutate({ registrationTicket: ticket }), 'REGISTRATION_TICKET_INVALID', 401);
    await expect(apiOn(owner).auth.register.mutate({ registrationTicket: ticket })).resolves.toMatchObject({ user: { openId: owner.user.openId } });
  });

  it('tokens, refresh, sessions and logout work as elsewhere; the session shows the X-Original-Forwarded-For address', async () => {
    const phone = gateway.phone({ appId: appIds()[0]!, openId: uniqueOpenId('ip'), ip: '2001:db8::7' });
    const registered = await apiOn(phone).auth.register.mutate({});
    const api = apiOn(phone, registered.accessToken);
    const [sessions] = await Promise.all([api.user.sessions.query(), api.auth.me.query()]);
    expect(sessions).toEqual([expect.objectContaining({ current: true, ip: '2001:db8::7' })]);
    const refreshed = await apiOn(phone).auth.refresh.mutate({ refreshToken: registered.refreshToken });
    await apiOn(phone, refreshed.accessToken).auth.logout.mutate();
    await expectReason(apiOn(phone, refreshed.accessToken).auth.me.query(), 'SESSION_REVOKED', 401);
  });

  it('deletes an account with the gateway naming the same user as the proof (no code); another user named is LOGIN_PROOF_MISMATCH', async () => {
    const owner = await registeredPhone(gateway, appIds()[0]!);
    // A copied access token, sent from another WeChat user's phone: the gateway names that user.
    const thief = gateway.phone({ appId: appIds()[0]!, openId: uniqueOpenId('thief') });
    await expectReason(apiOn(thief, owner.accessToken).user.deleteAccount.mutate({}), 'LOGIN_PROOF_MISMATCH', 403);
    expect(await t.backend.services.db.User.findById(owner.userId).lean()).not.toBeNull();

    expect(await owner.api.user.deleteAccount.mutate({})).toMatchObject({ status: 'deleted' });
    expect(await t.backend.services.db.User.findById(owner.userId).lean()).toBeNull();
    await expectReason(owner.api.auth.me.query(), 'USER_NOT_FOUND');
    // The same WeChat user comes back as a new user.
    const again = await expectReason(apiOn(owner.phone).auth.login.mutate({}), 'USER_NOT_REGISTERED', 401);
    const registered = await apiOn(owner.phone).auth.register.mutate({ registrationTicket: again.data.registrationTicket! });
    expect(registered.userId).not.toBe(owner.userId);
  });

  it('a banned user cannot log in', async () => {
    const { phone, userId } = await registeredPhone(gateway, appIds()[0]!);
    await createCaller(createContext({ services: t.backend.services, admin: true })).admin.banUser({ id: userId });
    await expectReason(apiOn(phone).auth.login.mutate({}), 'USER_BANNED', 403);
  });

  it('links two apps of one person by the unionId the gateway gives, also under resource sharing', async () => {
    const unionId = `u_${uniqueOpenId('union')}`;
    const first = await registeredPhone(gateway, appIds()[0]!, { unionId });
    const second = gateway.phone({ appId: appIds()[1]!, openId: uniqueOpenId('second'), unionId, resourceSharing: true });
    const login = await apiOn(second).auth.login.mutate({});
    expect(login).toMatchObject({ isNewUser: false, user: { id: first.userId, openId: second.user.openId, unionId } });
    expect((await first.api.auth.me.query()).openId).toBe(first.phone.user.openId);
  });

  it('a forged X-WX-OPENID sent by the app is stripped: the gateway names the real caller', async () => {
    const unionId = `u_${uniqueOpenId('victim')}`;
    const victim = await registeredPhone(gateway, appIds()[0]!, { unionId });
    const attacker = gateway.phone({ appId: appIds()[1]!, openId: uniqueOpenId('attacker') });
    // Every form the server reads: the resource sharing ones win over the plain ones, and a
    // unionId would link the attacker's first login to the victim's account.
    const forgedIdentity = {
      'X-WX-OPENID': victim.phone.user.openId,
      'X-WX-APPID': appIds()[0]!,
      'X-WX-UNIONID': unionId,
      'X-WX-FROM-OPENID': victim.phone.user.openId,
      'X-WX-FROM-APPID': appIds()[0]!,
      'X-WX-FROM-UNIONID': unionId,
      'X-WX-SOURCE': 'wx_client',
    };
    const forged = await attacker.callContainer({
      path: '/api/auth/login',
      method: 'POST',
      header: { 'X-WX-SERVICE': SERVICE, ...forgedIdentity },
      data: {},
    });
    expect(forged.statusCode).toBe(401);
    expect(JSON.parse(forged.text)).toMatchObject({ error: { reason: 'USER_NOT_REGISTERED' } });
    expect(forged.text).not.toContain(victim.userId);
  });

  it('a request without X-WX-SOURCE gets CLOUD_GATEWAY_REQUIRED and nothing else, whatever X-WX-* it carries', async () => {
    const victim = await registeredPhone(gateway, appIds()[0]!);
    const forgedHeaders = { 'content-type': 'application/json', 'x-wx-openid': victim.phone.user.openId, 'x-wx-appid': appIds()[0]! };
    // Straight to the container, as if its service had a public domain.
    const trpc = await t.fetch('/trpc/auth.login', { method: 'POST', headers: forgedHeaders, body: JSON.stringify({ json: {} }) });
    expect(trpc.status).toBe(403);
    const trpcBody = (await trpc.json()) as { error: { json: { data: { reason: string; code: string } } } };
    expect(trpcBody.error.json.data).toMatchObject({ reason: 'CLOUD_GATEWAY_REQUIRED', code: 'FORBIDDEN' });
    const batch = await t.fetch('/trpc/auth.me,ping?batch=1&input={}', { headers: forgedHeaders });
    expect(((await batch.json()) as unknown[]).length).toBe(2);
    const rest = await t.fetch('/api/auth/login', { method: 'POST', headers: forgedHeaders, body: '{}' });
    expect(rest.status).toBe(403);
    expect(await rest.json()).toEqual({ error: { reason: 'CLOUD_GATEWAY_REQUIRED', message: expect.stringContaining('callContainer') } });
    // Through the gateway but not from a phone (its public path): stripped, nothing added, refused.
    const viaPublicPath = await fetch(`${gateway.url}/api/ping`, { headers: { 'x-wx-source': 'wx_client' } });
    expect(viaPublicPath.status).toBe(403);
    // The platform's probes still get in.
    expect((await t.fetch('/healthz')).status).toBe(200);
  });

  it('a request from the gateway that names no user: CLOUD_IDENTITY_MISSING', async () => {
    const res = await t.fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json', 'x-wx-source': 'wx_http' }, body: '{}' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { reason: string } }).error.reason).toBe('CLOUD_IDENTITY_MISSING');
  });

  it('binds a phone number through the open API service, without an access token', async () => {
    const [own, shared] = appIds();
    const a = await registeredPhone(gateway, own!);
    const b = await registeredPhone(gateway, shared!);
    t.sim.resetStats();
    const user = await a.api.user.bindPhone.mutate({ code: t.sim.appFor(own!).phoneCode(a.phone.user.openId, CN) });
    expect(user.phone).toEqual({ countryCode: '86', purePhoneNumber: '13800138000', phoneNumber: '13800138000' });
    const other = { purePhoneNumber: '13900139000', countryCode: '86' };
    await b.api.user.bindPhone.mutate({ code: t.sim.appFor(shared!).phoneCode(b.phone.user.openId, other) });
    // The service added the credentials: each app's own, asked for by from_appid for the second.
    expect(t.backend.openApiService!.calls()).toEqual([
      { path: '/wxa/business/getuserphonenumber', appId: own },
      { path: '/wxa/business/getuserphonenumber', appId: shared },
    ]);
    // The access token machinery stayed off.
    expect(t.sim.stats()).toMatchObject({ token: 0, stable_token: 0, getuserphonenumber: 2 });
    expect(t.sim.stableTokenRequests()).toEqual([]);
  });

  it("binds a phone number from the getPhoneNumber cloudID the gateway replaces with the number", async () => {
    const { phone, accessToken } = await registeredPhone(gateway, appIds()[0]!);
    const number = { purePhoneNumber: '13700137000', countryCode: '86' };
    const answer = await phone.callContainer({
      path: '/api/user/bind-phone',
      method: 'POST',
      header: { 'X-WX-SERVICE': SERVICE, authorization: `Bearer ${accessToken}` },
      data: { cloudID: cloudIdStandIn(phone.phoneCloudID(number)) },
    });
    expect(answer.statusCode, answer.text).toBe(200);
    expect(JSON.parse(answer.text).phone).toEqual({ countryCode: '86', purePhoneNumber: '13700137000', phoneNumber: '13700137000' });

    // A cloudID the gateway could not resolve stays a string: a clear input error.
    const unknown = await phone.callContainer({
      path: '/api/user/bind-phone',
      method: 'POST',
      header: { 'X-WX-SERVICE': SERVICE, authorization: `Bearer ${accessToken}` },
      data: { cloudID: cloudIdStandIn('sim_unknown') },
    });
    expect(unknown.statusCode).toBe(400);
    expect(JSON.parse(unknown.text)).toMatchObject({ error: { reason: 'INVALID_INPUT', issues: [expect.objectContaining({ path: ['cloudID'] })] } });
  });

  it('what needs a session_key answers SESSION_KEY_UNAVAILABLE', async () => {
    const { phone, api } = await registeredPhone(gateway, appIds()[0]!);
    await expectReason(api.user.checkSession.query(), 'SESSION_KEY_UNAVAILABLE', 400);
    await expectReason(api.user.bindPhone.mutate({ encryptedData: 'AAAA', iv: 'AAAA' }), 'SESSION_KEY_UNAVAILABLE', 400);
    await expectReason(apiOn(phone).auth.login.mutate({ rawData: '{}', signature: 'abc' }), 'SESSION_KEY_UNAVAILABLE', 400);
    await expectReason(apiOn(phone).auth.register.mutate({ encryptedData: 'AAAA', iv: 'AAAA' }), 'SESSION_KEY_UNAVAILABLE', 400);
  });
});

describe('outside Cloud Hosting mode nothing changes', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto' });

  it('the gateway headers are not trusted: a login still needs a code', async () => {
    const openid = uniqueOpenId('plain');
    const headers = { 'content-type': 'application/json', 'x-wx-source': 'wx_client', 'x-wx-openid': openid };
    const res = await t.fetch('/api/auth/login', { method: 'POST', headers, body: '{}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { reason: 'INVALID_INPUT', issues: [{ path: ['code'], code: 'invalid_type' }] } });
    await expectReason(t.client().auth.register.mutate({}), 'INVALID_INPUT', 400);
  });

  it('a cloudID with made-up "open data" is refused', async () => {
    const openid = uniqueOpenId('forger');
    const login = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
    const watermark = { appid: t.backend.wechatApps[0]!.appId, timestamp: Math.floor(Date.now() / 1000) };
    const cloudID = { cloudID: 'x', data: { phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86', watermark } };
    await expectReason(t.client({ token: login.accessToken }).user.bindPhone.mutate({ cloudID }), 'CLOUD_GATEWAY_REQUIRED', 403);
  });
});

describe('Cloud Hosting configuration', () => {
  it('the open API service needs the hosting mode, and then no app secret', () => {
    expect(() => loadConfig({ WECHAT_OPEN_API_SERVICE: 'true' })).toThrow(new ConfigError('Invalid configuration: WECHAT_OPEN_API_SERVICE needs WECHAT_CLOUD_HOSTING=true (the service exists only there)'));
    expect(() => loadConfig({ WECHAT_CLOUD_HOSTING: 'yes' })).toThrow(/WECHAT_CLOUD_HOSTING must be true or false/);
    expect(() => loadConfig({ WECHAT_APP_ID: 'wx1234567890' })).toThrow(/WECHAT_APP_SECRET is required/);
    const config = loadConfig({ WECHAT_CLOUD_HOSTING: 'true', WECHAT_OPEN_API_SERVICE: 'true', WECHAT_APP_ID: 'wx1234567890' });
    expect(config.wechat).toMatchObject({ cloudHosting: true, openApiService: true, apiBaseUrl: 'http://api.weixin.qq.com' });
    expect(loadConfig({}).wechat).toMatchObject({ cloudHosting: false, openApiService: false, apiBaseUrl: 'https://api.weixin.qq.com' });
    expect(() => loadConfig({ WECHAT_APPS: '[{"appId":"wx1234567890"}]' })).toThrow(/needs an appSecret/);
  });
});
