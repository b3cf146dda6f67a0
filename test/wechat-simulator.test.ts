// The WeChat simulator over real HTTP: each answer is checked against what WeChat documents, and
// the app-side ciphertext is opened with node:crypto alone, so the simulator cannot agree with
// itself by accident.
import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWeChatSimulator, type Endpoint } from '../server/infra/dev/wechatSimulator';

const APP = { appId: 'wx0000000000000001', appSecret: 'secret-one' };
const OTHER = { appId: 'wx0000000000000002', appSecret: 'secret-two' };
const CODE_TTL_MS = 5 * 60_000;

let clock = Date.UTC(2025, 0, 1);
const sim = createWeChatSimulator({ apps: [APP, OTHER], now: () => clock });

beforeAll(async () => {
  await sim.start();
});
afterAll(async () => {
  await sim.stop();
});
beforeEach(() => {
  sim.clearFaults();
  sim.resetStats();
});

type Json = Record<string, unknown>;

async function getJson(path: string, params: Record<string, string>): Promise<Json> {
  const res = await fetch(`${sim.url}${path}?${new URLSearchParams(params)}`);
  return (await res.json()) as Json;
}

async function postJson(path: string, params: Record<string, string>, body: unknown): Promise<Json> {
  const res = await fetch(`${sim.url}${path}?${new URLSearchParams(params)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Json;
}

function code2Session(code: string, app = APP, overrides: Record<string, string> = {}): Promise<Json> {
  return getJson('/sns/jscode2session', {
    appid: app.appId, secret: app.appSecret, js_code: code, grant_type: 'authorization_code', ...overrides,
  });
}

async function plainToken(app = APP): Promise<string> {
  const reply = await getJson('/cgi-bin/token', { grant_type: 'client_credential', appid: app.appId, secret: app.appSecret });
  expect(reply.expires_in).toBe(7200);
  return reply.access_token as string;
}

function stableToken(forceRefresh = false, app = APP): Promise<Json> {
  return postJson('/cgi-bin/stable_token', {}, {
    grant_type: 'client_credential', appid: app.appId, secret: app.appSecret, force_refresh: forceRefresh,
  });
}

const phoneNumber = (token: string, code: string) => postJson('/wxa/business/getuserphonenumber', { access_token: token }, { code });

const checkSession = (token: string, openid: string, sessionKey: string) => getJson('/wxa/checksession', {
  access_token: token, openid, sig_method: 'hmac_sha256',
  signature: createHmac('sha256', sessionKey).update('').digest('hex'),
});

/** WeChat's scheme read independently: AES-128-CBC, PKCS#7; undefined when the key does not fit. */
function decrypt(sessionKey: string, payload: { encryptedData: string; iv: string }): string | undefined {
  try {
    const decipher = createDecipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), Buffer.from(payload.iv, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(payload.encryptedData, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

async function loggedIn(openid: string): Promise<string> {
  const reply = await code2Session(sim.app.login(openid));
  return reply.session_key as string;
}

describe('code2Session', () => {
  it('exchanges a code once for openid, session_key and unionid, then answers 40163', async () => {
    const usersBefore = sim.users();
    const code = sim.app.login('alice', { unionId: 'union-alice' });
    const first = await code2Session(code);
    expect(first).toEqual({ openid: 'alice', session_key: sim.app.sessionKeyOf('alice'), unionid: 'union-alice' });
    expect(Buffer.from(first.session_key as string, 'base64')).toHaveLength(16);
    expect(sim.users()).toBe(usersBefore + 1);

    expect(await code2Session(code)).toMatchObject({ errcode: 40163 });
  });

  it('omits unionid when the user has none', async () => {
    const reply = await code2Session(sim.app.login('no-union'));
    expect(reply.openid).toBe('no-union');
    expect(reply).not.toHaveProperty('unionid');
  });

  it('answers 40029 for an expired, unknown or other-app code', async () => {
    const code = sim.app.login('late');
    clock += CODE_TTL_MS + 1;
    expect(await code2Session(code)).toMatchObject({ errcode: 40029 });
    expect(await code2Session('made-up-code')).toMatchObject({ errcode: 40029 });
    expect(await code2Session(sim.appFor(OTHER.appId).login('elsewhere'))).toMatchObject({ errcode: 40029 });
  });

  it('checks appid, secret, code and grant_type', async () => {
    const code = sim.app.login('careful');
    expect(await code2Session(code, APP, { secret: 'wrong' })).toMatchObject({ errcode: 40125 });
    expect(await code2Session(code, APP, { appid: 'wx-unknown' })).toMatchObject({ errcode: 40013 });
    expect(await code2Session('', APP)).toMatchObject({ errcode: 41008 });
    expect(await code2Session(code, APP, { grant_type: 'password' })).toMatchObject({ errcode: 40002 });
    // None of the refusals consumed the code.
    expect(await code2Session(code)).toMatchObject({ openid: 'careful' });
  });

  it('serves each configured app with its own secret', async () => {
    const other = sim.appFor(OTHER.appId);
    expect(await code2Session(other.login('bob'), OTHER)).toMatchObject({ openid: 'bob', session_key: other.sessionKeyOf('bob') });
    expect(() => sim.appFor('wx-unknown')).toThrow(/not configured/);
  });

  it('answers a failingCode with its errcode every time', async () => {
    const limited = sim.app.failingCode(45011);
    expect(await code2Session(limited)).toMatchObject({ errcode: 45011, errmsg: expect.stringContaining('quota') });
    expect(await code2Session(limited)).toMatchObject({ errcode: 45011 });
    expect(await code2Session(sim.app.failingCode(40226, 'risky'))).toEqual({ errcode: 40226, errmsg: 'risky' });
  });

  it('gives a new session_key on every wx.login', async () => {
    const first = await loggedIn('rotating');
    const second = await loggedIn('rotating');
    expect(second).not.toBe(first);
    expect(sim.app.sessionKeyOf('rotating')).toBe(second);
  });
});

describe('encrypted data', () => {
  it('encrypts userInfo with the session_key code2Session returned, and signs rawData', async () => {
    const sessionKey = await loggedIn('carol');
    const signed = sim.app.userInfo('carol', { nickName: 'Carol', gender: 2 });

    expect(Buffer.from(signed.iv, 'base64')).toHaveLength(16);
    const plain = JSON.parse(decrypt(sessionKey, signed) ?? 'null') as Json;
    expect(plain).toMatchObject({ nickName: 'Carol', gender: 2, language: 'zh_CN' });
    expect(plain.watermark).toEqual({ appid: APP.appId, timestamp: Math.floor(clock / 1000) });

    expect(JSON.parse(signed.rawData)).toEqual(signed.userInfo);
    expect(signed.rawData).not.toContain('watermark');
    expect(signed.signature).toBe(createHash('sha1').update(signed.rawData + sessionKey).digest('hex'));
  });

  it('honours the watermark and key overrides', async () => {
    const sessionKey = await loggedIn('dave');
    const foreign = sim.app.userInfo('dave', {}, { appId: 'wx-foreign', timestamp: 42 });
    expect(JSON.parse(decrypt(sessionKey, foreign) ?? 'null')).toMatchObject({ nickName: '微信用户', watermark: { appid: 'wx-foreign', timestamp: 42 } });

    // A second wx.login rotates the key; data still encrypted with the first one is what a stale client sends.
    const current = await loggedIn('dave');
    expect(current).not.toBe(sessionKey);
    const stale = sim.app.userInfo('dave', {}, { sessionKey });
    expect(decrypt(sessionKey, stale)).toContain('"nickName"');
    expect(decrypt(current, stale)).not.toBe(decrypt(sessionKey, stale));
    expect(stale.signature).toBe(createHash('sha1').update(stale.rawData + sessionKey).digest('hex'));
  });

  it('encrypts a legacy phone number and arbitrary data', async () => {
    const sessionKey = await loggedIn('erin');
    const cn = JSON.parse(decrypt(sessionKey, sim.app.encryptPhone('erin', { purePhoneNumber: '13800138000', countryCode: '86' })) ?? 'null') as Json;
    expect(cn).toMatchObject({ phoneNumber: '13800138000', purePhoneNumber: '13800138000', countryCode: '86', watermark: { appid: APP.appId } });
    const us = JSON.parse(decrypt(sessionKey, sim.app.encryptPhone('erin', { purePhoneNumber: '4155550100', countryCode: '1' })) ?? 'null') as Json;
    expect(us.phoneNumber).toBe('14155550100');

    const bare = decrypt(sessionKey, sim.app.encrypt('erin', { stepInfoList: [] }, { watermark: false }));
    expect(JSON.parse(bare ?? 'null')).toEqual({ stepInfoList: [] });
    expect(() => sim.app.encrypt('never-logged-in', {})).toThrow(/login/);
  });
});

describe('access tokens', () => {
  it('cgi-bin/token invalidates the previous token of the appid', async () => {
    const first = await plainToken();
    const second = await plainToken();
    expect(second).not.toBe(first);
    const code = sim.app.phoneCode('frank', { purePhoneNumber: '13800138001', countryCode: '86' });
    expect(await phoneNumber(first, code)).toMatchObject({ errcode: 40001 });
    expect(await phoneNumber(second, code)).toMatchObject({ errcode: 0 });
  });

  it('a token expires with time (42001)', async () => {
    const token = await plainToken();
    clock += 7200 * 1000;
    expect(await phoneNumber(token, 'any')).toMatchObject({ errcode: 42001 });
  });

  it('stable_token reuses the live token, and force_refresh adds a new one', async () => {
    const first = await stableToken();
    clock += 10_000;
    const again = await stableToken();
    expect(again.access_token).toBe(first.access_token);
    expect(again.expires_in).toBe((first.expires_in as number) - 10);

    const refreshed = await stableToken(true);
    expect(refreshed.access_token).not.toBe(first.access_token);
    expect(refreshed.expires_in).toBe(7200);
    const sessionKey = await loggedIn('grace');
    expect(await checkSession(first.access_token as string, 'grace', sessionKey)).toMatchObject({ errcode: 0 });
    expect((await stableToken()).access_token).toBe(refreshed.access_token);

    expect(await postJson('/cgi-bin/stable_token', {}, { grant_type: 'client_credential', appid: APP.appId, secret: 'nope' }))
      .toMatchObject({ errcode: 40125 });
  });

  it('invalidateAccessTokens makes every issued token answer 40001', async () => {
    const plain = await plainToken();
    const stable = (await stableToken()).access_token as string;
    const sessionKey = await loggedIn('heidi');
    sim.invalidateAccessTokens();
    expect(await checkSession(plain, 'heidi', sessionKey)).toMatchObject({ errcode: 40001 });
    expect(await checkSession(stable, 'heidi', sessionKey)).toMatchObject({ errcode: 40001 });
    const fresh = (await stableToken()).access_token as string;
    expect(fresh).not.toBe(stable);
    expect(await checkSession(fresh, 'heidi', sessionKey)).toMatchObject({ errcode: 0 });
  });
});

describe('getuserphonenumber', () => {
  it('trades a phone code once for phone_info with a watermark', async () => {
    const token = await plainToken();
    const code = sim.app.phoneCode('ivan', { purePhoneNumber: '4155550100', countryCode: '1' });
    expect(await phoneNumber(token, code)).toEqual({
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        phoneNumber: '14155550100', purePhoneNumber: '4155550100', countryCode: '1',
        watermark: { appid: APP.appId, timestamp: Math.floor(clock / 1000) },
      },
    });
    expect(await phoneNumber(token, code)).toMatchObject({ errcode: 40029 });
    expect(await phoneNumber(token, sim.app.login('ivan'))).toMatchObject({ errcode: 40029 });
  });

  it('refuses an invalid token with 40001 and an expired code with 40029', async () => {
    const code = sim.app.phoneCode('judy', { purePhoneNumber: '13800138002', countryCode: '86' });
    expect(await phoneNumber('not-a-token', code)).toMatchObject({ errcode: 40001 });
    const token = await plainToken();
    clock += CODE_TTL_MS + 1;
    expect(await phoneNumber(token, code)).toMatchObject({ errcode: 40029 });
  });
});

describe('checksession', () => {
  it('accepts the current session_key and refuses a stale one with 87009', async () => {
    const token = await plainToken();
    const old = await loggedIn('ken');
    expect(await checkSession(token, 'ken', old)).toEqual({ errcode: 0, errmsg: 'ok' });
    const current = await loggedIn('ken');
    expect(await checkSession(token, 'ken', old)).toEqual({ errcode: 87009, errmsg: 'invalid signature' });
    expect(await checkSession(token, 'ken', current)).toMatchObject({ errcode: 0 });
    expect(await checkSession('bad-token', 'ken', current)).toMatchObject({ errcode: 40001 });
  });
});

describe('HTTP edges', () => {
  it('answers 404 JSON for an unknown path, 413 for a large body, 43002 for a wrong method', async () => {
    const missing = await fetch(`${sim.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ errcode: 404, errmsg: 'not found' });

    const large = await fetch(`${sim.url}/cgi-bin/stable_token`, { method: 'POST', body: 'x'.repeat(65 * 1024) });
    expect(large.status).toBe(413);

    expect(await getJson('/cgi-bin/stable_token', {})).toMatchObject({ errcode: 43002 });
  });
});

describe('faults', () => {
  it('errcode faults come first, for the requested number of calls, without consuming the code', async () => {
    const code = sim.app.login('liam');
    sim.injectFault('jscode2session', { kind: 'errcode', errcode: -1, errmsg: 'system error' }, 2);
    expect(await code2Session(code)).toEqual({ errcode: -1, errmsg: 'system error' });
    expect(await code2Session(code)).toEqual({ errcode: -1, errmsg: 'system error' });
    expect(await code2Session(code)).toMatchObject({ openid: 'liam' });
  });

  it('http500 answers 500 with a text body', async () => {
    sim.injectFault('token', { kind: 'http500' });
    const res = await fetch(`${sim.url}/cgi-bin/token?grant_type=client_credential&appid=${APP.appId}&secret=${APP.appSecret}`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('internal error');
    expect(await plainToken()).toBeTypeOf('string');
  });

  it('garbage answers 200 with a body that is not JSON', async () => {
    sim.injectFault('stable_token', { kind: 'garbage' });
    const res = await fetch(`${sim.url}/cgi-bin/stable_token`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow();
  });

  it('timeout never answers, so the client gives up', async () => {
    sim.injectFault('checksession', { kind: 'timeout' });
    await expect(fetch(`${sim.url}/wxa/checksession`, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('reset drops the connection without a response', async () => {
    sim.injectFault('getuserphonenumber', { kind: 'reset' });
    await expect(fetch(`${sim.url}/wxa/business/getuserphonenumber`, { method: 'POST', body: '{}' })).rejects.toThrow(TypeError);
    expect(sim.stats().getuserphonenumber).toBe(1);
  });

  it('a fault rate of 1 fails every call until it is set back to 0', async () => {
    sim.setFaultRate('token', 1, [{ kind: 'http500' }, { kind: 'garbage' }]);
    for (let i = 0; i < 5; i += 1) {
      const res = await fetch(`${sim.url}/cgi-bin/token?grant_type=client_credential&appid=${APP.appId}&secret=${APP.appSecret}`);
      const text = await res.text();
      expect([[500, 'internal error'], [200, '<html>oops']]).toContainEqual([res.status, text]);
    }
    sim.setFaultRate('token', 0, []);
    expect(await plainToken()).toBeTypeOf('string');
  });

  it('clearFaults drops injected faults and rates', async () => {
    sim.injectFault('jscode2session', { kind: 'http500' }, 3);
    sim.setFaultRate('jscode2session', 1, [{ kind: 'http500' }]);
    sim.clearFaults();
    expect(await code2Session(sim.app.login('mia'))).toMatchObject({ openid: 'mia' });
  });

  it('stop() resolves while a timeout request hangs', async () => {
    const own = createWeChatSimulator({ apps: [APP] });
    await own.start();
    own.injectFault('token', { kind: 'timeout' });
    const hanging = fetch(`${own.url}/cgi-bin/token`).then(() => 'answered', () => 'dropped');
    await expect.poll(() => own.stats().token).toBe(1);
    await own.stop();
    expect(await hanging).toBe('dropped');
  });
});

describe('stats', () => {
  it('counts every request per endpoint, failed ones included, and resets', async () => {
    await code2Session('unknown');
    await code2Session(sim.app.login('nina'));
    sim.injectFault('token', { kind: 'garbage' });
    await (await fetch(`${sim.url}/cgi-bin/token`)).text();
    await plainToken();
    await fetch(`${sim.url}/nope`);
    const expected: Record<Endpoint, number> = { jscode2session: 2, token: 2, stable_token: 0, getuserphonenumber: 0, checksession: 0 };
    expect(sim.stats()).toEqual(expected);
    sim.resetStats();
    expect(Object.values(sim.stats()).every((n) => n === 0)).toBe(true);
  });
});
