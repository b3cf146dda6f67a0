import { createCipheriv, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReason } from './helpers/expectError';
import { startTestBackend, uniqueOpenId, type TestBackend } from './helpers/testBackend';
import { createCaller, createContext } from '../server/root';

let t: TestBackend;
beforeAll(async () => {
  t = await startTestBackend({ AUTH_REGISTRATION: 'explicit', WECHAT_WATERMARK_MAX_AGE_S: '600' });
});
afterAll(async () => {
  // Whatever the tests above did, no response and no log line may carry a secret.
  expect(t.leakedSecrets()).toEqual([]);
  await t.stop();
});

/** Logs in an unknown user, takes the ticket from USER_NOT_REGISTERED and registers with it. */
async function registerNewUser(openid = uniqueOpenId(), nickName = 'Alice') {
  const api = t.client();
  const err = await expectReason(api.auth.login.mutate({ code: t.wxLogin(openid) }), 'USER_NOT_REGISTERED', 401);
  const ticket = err.data.registrationTicket!;
  const registered = await api.auth.register.mutate({ registrationTicket: ticket, profile: { nickName } });
  return { openid, ...registered };
}

describe('explicit registration', () => {
  it('login of an unknown user fails with a registration ticket; register with it; then me and login', async () => {
    const openid = uniqueOpenId();
    const api = t.client();
    const err = await expectReason(api.auth.login.mutate({ code: t.wxLogin(openid) }), 'USER_NOT_REGISTERED', 401);
    expect(err.data.registrationTicket).toMatch(/^rt_[\w-]{43}$/);

    const reg = await api.auth.register.mutate({
      registrationTicket: err.data.registrationTicket!,
      profile: { nickName: '小明', avatarUrl: 'https://example.com/a.png' },
    });
    expect(reg.tokenType).toBe('Bearer');
    expect(reg.expiresIn).toBe(7200);
    expect(reg.createdAt).toBeInstanceOf(Date); // superjson keeps Dates
    expect(reg.user).toMatchObject({ id: reg.userId, openId: openid, nickName: '小明', avatarUrl: 'https://example.com/a.png', status: 'active' });

    const me = await t.client({ token: reg.accessToken }).auth.me.query();
    expect(me.id).toBe(reg.userId);
    expect(me.nickName).toBe('小明');

    const again = await api.auth.login.mutate({ code: t.wxLogin(openid) });
    expect(again.isNewUser).toBe(false);
    expect(again.user.id).toBe(reg.userId);
    expect(again.user.lastLoginAt!.getTime()).toBeGreaterThanOrEqual(reg.user.lastLoginAt!.getTime());
  });

  it('a ticket is single-use', async () => {
    const openid = uniqueOpenId();
    const api = t.client();
    const err = await expectReason(api.auth.login.mutate({ code: t.wxLogin(openid) }), 'USER_NOT_REGISTERED');
    const ticket = err.data.registrationTicket!;
    await api.auth.register.mutate({ registrationTicket: ticket });
    await expectReason(api.auth.register.mutate({ registrationTicket: ticket }), 'REGISTRATION_TICKET_INVALID', 401);
    await expectReason(api.auth.register.mutate({ registrationTicket: 'rt_forged' }), 'REGISTRATION_TICKET_INVALID', 401);
  });

  it('a registration rejected for bad data does not use the ticket up', async () => {
    const openid = uniqueOpenId();
    const api = t.client();
    const code = t.wxLogin(openid);
    const info = t.sim.app.userInfo(openid, { nickName: 'Band', city: 'Guangzhou' });
    const err = await expectReason(api.auth.login.mutate({ code }), 'USER_NOT_REGISTERED');
    const ticket = err.data.registrationTicket!;
    await expectReason(
      api.auth.register.mutate({ registrationTicket: ticket, ...info, signature: 'f'.repeat(40) }),
      'SIGNATURE_INVALID',
      400,
    );
    const reg = await api.auth.register.mutate({ registrationTicket: ticket, ...info });
    expect(reg.user).toMatchObject({ nickName: 'Band', city: 'Guangzhou', openId: openid });
  });

  it('registers with a fresh code and the legacy encrypted profile', async () => {
    const openid = uniqueOpenId();
    const code = t.wxLogin(openid, { unionId: 'union-1' });
    const info = t.sim.app.userInfo(openid, { nickName: 'Band', gender: 1, city: 'Guangzhou', province: 'Guangdong', country: 'CN' });
    const reg = await t.client().auth.register.mutate({ code, ...info });
    expect(reg.user).toMatchObject({ openId: openid, unionId: 'union-1', nickName: 'Band', gender: 1, city: 'Guangzhou', country: 'CN' });
  });

  it('the plain profile wins over the anonymous WeChat profile', async () => {
    const openid = uniqueOpenId();
    const code = t.wxLogin(openid);
    const info = t.sim.app.userInfo(openid, { nickName: '微信用户', avatarUrl: 'https://thirdwx.qlogo.cn/grey' });
    const reg = await t.client().auth.register.mutate({ code, ...info, profile: { nickName: 'Real Name' } });
    expect(reg.user.nickName).toBe('Real Name');
    // A later login with the anonymous profile keeps the real nickname.
    const code2 = t.wxLogin(openid);
    const info2 = t.sim.app.userInfo(openid, { nickName: '微信用户' });
    const login = await t.client().auth.login.mutate({ code: code2, ...info2 });
    expect(login.user.nickName).toBe('Real Name');
  });

  it('a login with a real encrypted profile refreshes it', async () => {
    const { openid } = await registerNewUser(uniqueOpenId(), 'Old');
    const code = t.wxLogin(openid);
    const info = t.sim.app.userInfo(openid, { nickName: 'New', city: 'Shenzhen' });
    const login = await t.client().auth.login.mutate({ code, ...info });
    expect(login.user).toMatchObject({ nickName: 'New', city: 'Shenzhen' });
  });

  it('registering an existing user is a CONFLICT', async () => {
    const { openid } = await registerNewUser();
    await expectReason(t.client().auth.register.mutate({ code: t.wxLogin(openid) }), 'USER_EXISTS', 409);
  });

  it('register needs exactly one of code and registrationTicket', async () => {
    const err = await expectReason(t.client().auth.register.mutate({} as never), 'INVALID_INPUT', 400);
    expect(err.data.issues?.[0]?.message).toMatch(/exactly one of code or registrationTicket/);
    await expectReason(t.client().auth.register.mutate({ code: 'a', registrationTicket: 'b' }), 'INVALID_INPUT', 400);
  });

  it('a banned user cannot log in and their token stops working', async () => {
    const { openid, accessToken, userId } = await registerNewUser();
    await t.client({ token: accessToken }).auth.me.query(); // the user is cached as active
    await createCaller(createContext({ services: t.backend.services, admin: true })).admin.banUser({ id: userId });
    await expectReason(t.client().auth.login.mutate({ code: t.wxLogin(openid) }), 'USER_BANNED', 403);
    await expectReason(t.client({ token: accessToken }).auth.me.query(), 'USER_BANNED', 403);
  });

  it('a replayed code is rejected', async () => {
    const { openid } = await registerNewUser();
    const code = t.wxLogin(openid);
    await t.client().auth.login.mutate({ code });
    await expectReason(t.client().auth.login.mutate({ code }), 'WECHAT_CODE_USED', 400);
  });

  it('works through the batching link too', async () => {
    const { openid } = await registerNewUser();
    const api = t.client({ batch: true });
    const [pong, login] = await Promise.all([api.ping.query(), api.auth.login.mutate({ code: t.wxLogin(openid) })]);
    expect(pong).toBe('pong');
    expect(login.user.openId).toBe(openid);
    // A long batch puts every procedure name in the URL path: the most calls a batch may hold
    // (TRPC_BATCH_MAX_CALLS, 20), with names long enough to pass Fastify's default 100 characters.
    const authed = t.client({ batch: true, token: login.accessToken });
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? authed.user.sessions.query() : authed.auth.me.query())));
    expect(many).toHaveLength(20);
    expect(many[0]).toMatchObject({ openId: openid });
  });
});

describe('WeChat errcodes through HTTP', () => {
  const cases = [
    [40029, 'WECHAT_CODE_INVALID', 400],
    [40163, 'WECHAT_CODE_USED', 400],
    [45011, 'WECHAT_RATE_LIMITED', 429],
    [40226, 'WECHAT_USER_BLOCKED', 403],
    [-1, 'WECHAT_UNAVAILABLE', 503],
    [40013, 'WECHAT_MISCONFIGURED', 500],
    [40125, 'WECHAT_MISCONFIGURED', 500],
    [61234, 'WECHAT_ERROR', 502],
  ] as const;
  it.each(cases)('errcode %i → %s (%i)', async (errcode, reason, status) => {
    const err = await expectReason(t.client().auth.login.mutate({ code: t.sim.app.failingCode(errcode) }), reason, status);
    expect(err.message).not.toMatch(/secret|appid=/i);
  });

  it('an unknown code → WECHAT_CODE_INVALID', async () => {
    await expectReason(t.client().auth.login.mutate({ code: 'no-such-code' }), 'WECHAT_CODE_INVALID', 400);
  });

  it.each(['timeout', 'http500', 'garbage', 'reset'] as const)('%s on every attempt → WECHAT_UNAVAILABLE', async (kind) => {
    t.sim.injectFault('jscode2session', { kind }, 2); // WECHAT_RETRIES=1: two attempts
    await expectReason(t.client().auth.login.mutate({ code: t.wxLogin(uniqueOpenId()) }), 'WECHAT_UNAVAILABLE', 503);
    t.sim.clearFaults();
  });

  it('one transient failure is retried and the login goes through', async () => {
    const { openid } = await registerNewUser();
    t.sim.injectFault('jscode2session', { kind: 'errcode', errcode: -1 }, 1);
    const login = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
    expect(login.user.openId).toBe(openid);
  });
});

describe('encrypted data is checked strictly', () => {
  /** A registered user, a fresh code and the profile the app got with that code's session_key. */
  async function freshLogin() {
    const { openid } = await registerNewUser();
    const code = t.wxLogin(openid);
    const info = t.sim.app.userInfo(openid, { nickName: 'Band' });
    return { openid, code, info, sessionKey: t.sim.app.sessionKeyOf(openid)! };
  }
  const login = (input: Parameters<ReturnType<TestBackend['client']>['auth']['login']['mutate']>[0]) => t.client().auth.login.mutate(input);

  it('valid data passes', async () => {
    const { code, info } = await freshLogin();
    expect((await login({ code, ...info })).user.nickName).toBe('Band');
  });

  it('tampered ciphertext → ENCRYPTED_DATA_INVALID', async () => {
    const { code, info } = await freshLogin();
    const bytes = Buffer.from(info.encryptedData, 'base64');
    bytes[bytes.length - 1]! ^= 0x55;
    await expectReason(login({ code, ...info, encryptedData: bytes.toString('base64') }), 'ENCRYPTED_DATA_INVALID', 400);
  });

  it('wrong IV length → ENCRYPTED_DATA_INVALID', async () => {
    const { code, info } = await freshLogin();
    const err = await expectReason(login({ code, ...info, iv: randomBytes(12).toString('base64') }), 'ENCRYPTED_DATA_INVALID', 400);
    expect(err.message).toMatch(/16 bytes/);
  });

  it('bad padding → ENCRYPTED_DATA_INVALID', async () => {
    const { code, sessionKey, info } = await freshLogin();
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv).setAutoPadding(false);
    const plain = Buffer.concat([Buffer.from('{"nickName":"x"}'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])]);
    const encryptedData = Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
    await expectReason(login({ code, encryptedData, iv: iv.toString('base64'), rawData: info.rawData, signature: info.signature }), 'ENCRYPTED_DATA_INVALID', 400);
  });

  it('bad base64 → ENCRYPTED_DATA_INVALID, with a hint when + became a space', async () => {
    const { code, info } = await freshLogin();
    const spaced = info.encryptedData.replace(/\+/g, ' ');
    const data = spaced === info.encryptedData ? `${info.encryptedData.slice(0, -4)} abc` : spaced;
    const err = await expectReason(login({ code, ...info, encryptedData: data }), 'ENCRYPTED_DATA_INVALID', 400);
    expect(err.message).toMatch(/base64/);
  });

  it('data made with a stale session_key → ENCRYPTED_DATA_INVALID, not a 500', async () => {
    const { openid, info: stale } = await freshLogin();
    const code = t.wxLogin(openid); // a new wx.login rotates the key after the data was made
    await expectReason(login({ code, encryptedData: stale.encryptedData, iv: stale.iv }), 'ENCRYPTED_DATA_INVALID', 400);
  });

  it('a watermark of another appid → WATERMARK_APPID_MISMATCH', async () => {
    const { openid, code } = await freshLogin();
    const info = t.sim.app.userInfo(openid, {}, { appId: 'wx0000000000000000' });
    await expectReason(login({ code, ...info }), 'WATERMARK_APPID_MISMATCH', 400);
  });

  it('a stale watermark → WATERMARK_EXPIRED', async () => {
    const { openid, code } = await freshLogin();
    const info = t.sim.app.userInfo(openid, {}, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    await expectReason(login({ code, ...info }), 'WATERMARK_EXPIRED', 400);
  });

  it('a wrong signature → SIGNATURE_INVALID', async () => {
    const { code, info } = await freshLogin();
    await expectReason(login({ code, rawData: info.rawData.replace('Band', 'Bond'), signature: info.signature }), 'SIGNATURE_INVALID', 400);
  });

  it('encryptedData without iv → ENCRYPTED_DATA_INCOMPLETE', async () => {
    const { code, info } = await freshLogin();
    await expectReason(login({ code, encryptedData: info.encryptedData }), 'ENCRYPTED_DATA_INCOMPLETE', 400);
  });

  it('a field over its limit → INVALID_INPUT with the zod issue', async () => {
    const { code } = await freshLogin();
    const err = await expectReason(login({ code, encryptedData: 'A'.repeat(20_000), iv: 'x' }), 'INVALID_INPUT', 400);
    expect(err.data.issues?.[0]?.path).toEqual(['encryptedData']);
  });

  it('a body over the limit → PAYLOAD_TOO_LARGE (413), in tRPC shape', async () => {
    const { code } = await freshLogin();
    await expectReason(login({ code, rawData: 'x'.repeat(100_000), signature: 'y' }), 'PAYLOAD_TOO_LARGE', 413);
    await expectReason(
      t.client({ batch: true }).auth.login.mutate({ code, rawData: 'x'.repeat(100_000), signature: 'y' }),
      'PAYLOAD_TOO_LARGE',
      413,
    );
  });

  it('a failed login leaves the stored profile as it was', async () => {
    const { openid, code, info } = await freshLogin();
    const before = await t.backend.services.db.User.findOne({ openId: openid }).lean();
    await expectReason(login({ code, ...info, signature: '0'.repeat(40) }), 'SIGNATURE_INVALID');
    const after = await t.backend.services.db.User.findOne({ openId: openid }).lean();
    expect(after).toEqual(before);
  });
});
