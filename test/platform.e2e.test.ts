import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTRPCClient, httpLink } from '@trpc/client';
import jwt from 'jsonwebtoken';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AppRouter } from '../server/root';
import { createWeChatSimulator } from '../server/infra/dev/wechatSimulator';
import { expectReason } from './helpers/expectError';
import { startTestBackend, uniqueOpenId, useTestBackend, type TestBackend } from './helpers/testBackend';

const CN = { purePhoneNumber: '13800138000', countryCode: '86' };
const phoneOf = () => ({ purePhoneNumber: `139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`, countryCode: '86' });

async function signUp(t: TestBackend, openid = uniqueOpenId('p'), opts: { appId?: string; unionId?: string } = {}) {
  const login = await t.client({ appId: opts.appId }).auth.login.mutate({ code: t.wxLogin(openid, opts) });
  return { openid, ...login, api: t.client({ token: login.accessToken }) };
}

describe('phone number, profile, session check', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto' });

  it('binds a phone number from the getPhoneNumber code', async () => {
    const s = await signUp(t);
    const user = await s.api.user.bindPhone.mutate({ code: t.sim.app.phoneCode(s.openid, CN) });
    expect(user.phone).toEqual({ countryCode: '86', purePhoneNumber: '13800138000', phoneNumber: '13800138000' });
    expect((await s.api.auth.me.query()).phone?.purePhoneNumber).toBe('13800138000');
    // A used code is refused by WeChat.
  });

  it('binds from the legacy encrypted data, with the session_key of the last login', async () => {
    const s = await signUp(t);
    const phone = { purePhoneNumber: '2025550123', countryCode: '1' };
    const user = await s.api.user.bindPhone.mutate(t.sim.app.encryptPhone(s.openid, phone));
    expect(user.phone).toEqual({ countryCode: '1', purePhoneNumber: '2025550123', phoneNumber: '12025550123' });
  });

  it('a number bound to another user is a CONFLICT and changes nothing', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const number = phoneOf();
    await a.api.user.bindPhone.mutate({ code: t.sim.app.phoneCode(a.openid, number) });
    await expectReason(b.api.user.bindPhone.mutate({ code: t.sim.app.phoneCode(b.openid, number) }), 'PHONE_ALREADY_BOUND', 409);
    expect((await b.api.auth.me.query()).phone).toBeNull();
    // Binding it again to its owner is fine; binding a new number frees the old one.
    await a.api.user.bindPhone.mutate({ code: t.sim.app.phoneCode(a.openid, number) });
    await a.api.user.bindPhone.mutate({ code: t.sim.app.phoneCode(a.openid, phoneOf()) });
    const taken = await b.api.user.bindPhone.mutate({ code: t.sim.app.phoneCode(b.openid, number) });
    expect(taken.phone?.purePhoneNumber).toBe(number.purePhoneNumber);
  });

  it('a stale session_key is detected: checkSession false, and the legacy decrypt says SESSION_KEY_STALE', async () => {
    const s = await signUp(t);
    expect(await s.api.user.checkSession.query()).toEqual({ valid: true });
    t.wxLogin(s.openid); // the app called wx.login again but did not log in to us: WeChat's key moved on
    expect(await s.api.user.checkSession.query()).toEqual({ valid: false });
    await expectReason(s.api.user.bindPhone.mutate(t.sim.app.encryptPhone(s.openid, phoneOf())), 'SESSION_KEY_STALE', 400);
    // After logging in again, the data decrypts.
    const again = await t.client().auth.login.mutate({ code: t.wxLogin(s.openid) });
    const api = t.client({ token: again.accessToken });
    expect(await api.user.checkSession.query()).toEqual({ valid: true });
    await api.user.bindPhone.mutate(t.sim.app.encryptPhone(s.openid, phoneOf()));
  });

  it('data that does not decrypt with a current key stays ENCRYPTED_DATA_INVALID', async () => {
    const s = await signUp(t);
    const data = t.sim.app.encryptPhone(s.openid, phoneOf());
    const bytes = Buffer.from(data.encryptedData, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    await expectReason(s.api.user.bindPhone.mutate({ ...data, encryptedData: bytes.toString('base64') }), 'ENCRYPTED_DATA_INVALID', 400);
  });

  it('an invalidated access token is dropped, fetched anew and the call retried', async () => {
    const s = await signUp(t);
    await s.api.user.checkSession.query(); // a token is cached now
    t.sim.resetStats();
    t.sim.invalidateAccessTokens();
    await s.api.user.bindPhone.mutate({ code: t.sim.app.phoneCode(s.openid, phoneOf()) });
    expect(t.sim.stats().stable_token).toBe(1);
    expect(t.sim.stats().getuserphonenumber).toBe(2); // refused once, then retried
  });

  it('bindPhone needs either code or encryptedData with iv', async () => {
    const s = await signUp(t);
    await expectReason(s.api.user.bindPhone.mutate({}), 'INVALID_INPUT', 400);
    await expectReason(s.api.user.bindPhone.mutate({ code: 'x', encryptedData: 'y', iv: 'z' }), 'INVALID_INPUT', 400);
    await expectReason(s.api.user.bindPhone.mutate({ code: 'no-such-code' }), 'WECHAT_CODE_INVALID', 400);
  });

  it('bindPhone with encryptedData but no iv, or iv alone → 400 ENCRYPTED_DATA_INCOMPLETE, nothing bound', async () => {
    const s = await signUp(t);
    const { encryptedData, iv } = t.sim.app.encryptPhone(s.openid, phoneOf());
    await expectReason(s.api.user.bindPhone.mutate({ encryptedData }), 'ENCRYPTED_DATA_INCOMPLETE', 400);
    await expectReason(s.api.user.bindPhone.mutate({ iv }), 'ENCRYPTED_DATA_INCOMPLETE', 400);
    expect((await s.api.auth.me.query()).phone).toBeNull();
  });

  it('updateProfile validates and returns the user', async () => {
    const s = await signUp(t);
    const user = await s.api.user.updateProfile.mutate({ nickName: '  小红  ', avatarUrl: 'https://cdn.example.com/a.png' });
    expect(user).toMatchObject({ nickName: '小红', avatarUrl: 'https://cdn.example.com/a.png', openId: s.openid });
    for (const bad of [{}, { nickName: '' }, { nickName: 'x'.repeat(65) }, { avatarUrl: 'http://cdn.example.com/a.png' }, { avatarUrl: 'javascript:alert(1)' }, { avatarUrl: 'https://' }]) {
      await expectReason(s.api.user.updateProfile.mutate(bad), 'INVALID_INPUT', 400);
    }
    expect((await s.api.auth.me.query()).nickName).toBe('小红');
  });
});

describe('several mini programs, one backend', () => {
  let t: TestBackend;
  let appA: string;
  let appB: string;
  beforeAll(async () => {
    t = await startTestBackend({ AUTH_REGISTRATION: 'auto' }, { simulatorApps: 2 });
    [appA, appB] = t.backend.wechatApps.map((a) => a.appId) as [string, string];
  });
  afterAll(async () => {
    expect(t.leakedSecrets()).toEqual([]);
    await t.stop();
  });

  it('two apps, one unionId → one user with two openids; tokens carry the app', async () => {
    const unionId = `union_${randomBytes(4).toString('hex')}`;
    const inA = await signUp(t, uniqueOpenId('a'), { appId: appA, unionId });
    const inB = await signUp(t, uniqueOpenId('b'), { appId: appB, unionId });
    expect(inA.isNewUser).toBe(true);
    expect(inB.isNewUser).toBe(false);
    expect(inB.user.id).toBe(inA.user.id);
    expect(inB.user.openId).toBe(inB.openid); // each app sees its own openid
    expect((await inA.api.auth.me.query()).openId).toBe(inA.openid);
    expect((await inB.api.auth.me.query()).openId).toBe(inB.openid);
    expect((jwt.decode(inA.accessToken) as { app: string }).app).toBe(appA);
    expect((jwt.decode(inB.accessToken) as { app: string }).app).toBe(appB);

    const identities = await t.backend.services.db.Identity.find({ userId: inA.user.id }).lean();
    expect(identities.map((i) => i.appId).sort()).toEqual([appA, appB].sort());
    expect(await t.backend.services.db.User.countDocuments({ unionId })).toBe(1);
  });

  /** A login in `appId` whose code2Session answer carries `codeUnionId`, sending encrypted user data that carries `dataUnionId`. */
  async function loginWithUserData(appId: string, openid: string, codeUnionId: string | undefined, dataUnionId: string) {
    const code = t.wxLogin(openid, { appId, ...(codeUnionId ? { unionId: codeUnionId } : {}) });
    // WeChat's own sample of decrypted user info: openId, profile, unionId, watermark.
    const data = t.sim.appFor(appId).encrypt(openid, { openId: openid, nickName: 'Band', gender: 1, language: 'en', city: 'Guangzhou', province: 'Guangdong', country: 'CN', avatarUrl: 'https://thirdwx.qlogo.cn/x/0', unionId: dataUnionId });
    return t.client({ appId }).auth.login.mutate({ code, ...data });
  }

  it('a unionId in verified encrypted user data is used when code2Session gives none: the apps are linked', async () => {
    const unionId = `union_${randomBytes(4).toString('hex')}`;
    const first = await loginWithUserData(appA, uniqueOpenId('a'), undefined, unionId);
    expect(first.user.unionId).toBe(unionId);
    const second = await loginWithUserData(appB, uniqueOpenId('b'), undefined, unionId);
    expect(second.isNewUser).toBe(false);
    expect(second.user.id).toBe(first.user.id);
    expect(await t.backend.services.db.User.countDocuments({ unionId })).toBe(1);
  });

  it("code2Session's unionId wins over a different one in the user data, and the difference is logged", async () => {
    const fromCode = `union_${randomBytes(4).toString('hex')}`;
    const fromData = `union_${randomBytes(4).toString('hex')}`;
    const openid = uniqueOpenId('a');
    const login = await loginWithUserData(appA, openid, fromCode, fromData);
    expect(login.user.unionId).toBe(fromCode);
    const warning = t.logLines().find((line) => line.includes(openid) && /unionId/.test(line));
    expect(warning, 'a log line about the differing unionIds').toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, appId: appA, openId: openid });
  });

  it('without a unionId, the same person in two apps is two users', async () => {
    const a = await signUp(t, uniqueOpenId('a'), { appId: appA });
    const b = await signUp(t, uniqueOpenId('b'), { appId: appB });
    expect(a.user.id).not.toBe(b.user.id);
  });

  it('a request must name its app when there are several; an unknown app is refused', async () => {
    const openid = uniqueOpenId();
    await expectReason(t.client().auth.login.mutate({ code: t.wxLogin(openid, { appId: appA }) }), 'WECHAT_APP_UNKNOWN', 400);
    await expectReason(t.client({ appId: 'wxnotours' }).auth.login.mutate({ code: t.wxLogin(openid, { appId: appA }) }), 'WECHAT_APP_UNKNOWN', 400);
    // A code of app A exchanged as app B is invalid at WeChat.
    await expectReason(t.client({ appId: appB }).auth.login.mutate({ code: t.wxLogin(openid, { appId: appA }) }), 'WECHAT_CODE_INVALID', 400);
  });

  it("WeChat's own Referer names the app too", async () => {
    const openid = uniqueOpenId();
    const res = await t.fetch('/trpc/auth.login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', referer: `https://servicewechat.com/${appB}/3/page-frame.html` },
      body: JSON.stringify({ json: { code: t.wxLogin(openid, { appId: appB }) } }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { data: { json: { user: { openId: string } } } } };
    expect(body.result.data.json.user.openId).toBe(openid);
  });

  it('the phone number is bound through the app of the token', async () => {
    const b = await signUp(t, uniqueOpenId('b'), { appId: appB });
    const user = await b.api.user.bindPhone.mutate({ code: t.sim.appFor(appB).phoneCode(b.openid, phoneOf()) });
    expect(user.phone).not.toBeNull();
  });
});

describe('three server processes share one access token', () => {
  const ROOT = resolve(import.meta.dirname, '..');
  const app = { appId: 'wx' + randomBytes(8).toString('hex'), appSecret: randomBytes(16).toString('hex') };
  const sim = createWeChatSimulator({ apps: [app] });
  const children: ChildProcessWithoutNullStreams[] = [];
  const urls: string[] = [];
  let cwd: string;

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'wxlogin-3proc-'));
    const simUrl = await sim.start();
    const env = {
      ...process.env,
      // Development: it writes .data/runtime.json, where the URL is read from below.
      NODE_ENV: 'development',
      MONGODB_URI: `${inject('mongodbUri').replace(/\/?$/, '/')}three_${randomBytes(4).toString('hex')}`,
      WECHAT_APP_ID: app.appId,
      WECHAT_APP_SECRET: app.appSecret,
      WECHAT_API_BASE_URL: simUrl,
      JWT_SECRET: randomBytes(32).toString('hex'),
      PORT: '0',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_IP_PER_MIN: '0',
      AUTH_REGISTRATION: 'auto',
    };
    for (let i = 0; i < 3; i++) {
      const dir = join(cwd, String(i));
      const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'server/main.ts')], { cwd: (await import('node:fs')).mkdirSync(dir, { recursive: true }) ?? dir, env });
      children.push(child);
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c));
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`process ${i} did not start: ${err}`)), 60_000);
        child.stderr.on('data', () => {
          if (err.includes('wx-login-backend is up')) {
            clearTimeout(timer);
            res();
          }
        });
        child.once('exit', (code) => rej(new Error(`process ${i} exited ${code}: ${err}`)));
      });
      urls.push((JSON.parse(readFileSync(join(dir, '.data/runtime.json'), 'utf8')) as { url: string }).url);
    }
  });
  afterAll(async () => {
    await Promise.all(
      children.map((c) => new Promise<void>((res) => (c.exitCode !== null ? res() : (c.once('exit', () => res()), c.kill('SIGTERM'))))),
    );
    await sim.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const api = (url: string, token?: string) =>
    createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${url}/trpc`, transformer: superjson, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) })],
    });

  it('50 concurrent calls needing a token, spread over 3 processes → one token fetch', async () => {
    const logins = await Promise.all(
      Array.from({ length: 5 }, (_, i) => api(urls[i % 3]!).auth.login.mutate({ code: sim.app.login(`o_three_${i}`) })),
    );
    sim.resetStats();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => api(urls[i % 3]!, logins[i % 5]!.accessToken).user.checkSession.query()),
    );
    expect(results.every((r) => r.valid)).toBe(true);
    expect(sim.stats().stable_token).toBe(1);
    expect(sim.stats().checksession).toBe(50);
  });

  it('after WeChat invalidates it, one process refetches and the others follow', async () => {
    const login = await api(urls[0]!).auth.login.mutate({ code: sim.app.login('o_three_inv') });
    sim.resetStats();
    sim.invalidateAccessTokens();
    const results = await Promise.all(Array.from({ length: 9 }, (_, i) => api(urls[i % 3]!, login.accessToken).user.checkSession.query()));
    expect(results.every((r) => r.valid)).toBe(true);
    // Each process that held the dead token drops it; the new one is fetched at most once per process.
    expect(sim.stats().stable_token).toBeGreaterThanOrEqual(1);
    expect(sim.stats().stable_token).toBeLessThanOrEqual(3);
  });
});
