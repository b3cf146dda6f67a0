// code2Session (and so requestWeChatJson) against the WeChat simulator over real HTTP.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorReason } from '../../shared';
import { AppError } from '../errors';
import { code2Session, type WeChatAppCredentials } from './code2Session';
import { WeChatApiError } from './errcodes';
import type { WeChatHttpOptions } from './requestJson';
import { createWeChatSimulator, type FaultKind } from '../infra/dev/wechatSimulator';

const APP = { appId: 'wx1234567890abcdef', appSecret: 'super-secret-app-secret-6f1e2d' };
const sim = createWeChatSimulator({ apps: [APP] });
const HTTP: WeChatHttpOptions = { timeoutMs: 2000, retries: 2, backoffMs: 5 };

let creds: WeChatAppCredentials;
/** Every error seen, to check at the end that none carries the app secret. */
const seen: unknown[] = [];

beforeAll(async () => {
  const url = await sim.start();
  creds = { appId: APP.appId, appSecret: APP.appSecret, apiBaseUrl: url };
});
afterAll(async () => {
  await sim.stop();
});
beforeEach(() => {
  sim.clearFaults();
  sim.resetStats();
});

const calls = () => sim.stats().jscode2session;

async function expectFailure(promise: Promise<unknown>, reason: ErrorReason): Promise<AppError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  seen.push(caught);
  expect(caught, `expected an AppError ${reason}`).toBeInstanceOf(AppError);
  const err = caught as AppError;
  expect(err.reason).toBe(reason);
  expect(err.message).not.toContain(APP.appSecret);
  return err;
}

describe('code2Session success', () => {
  it('trades a wx.login code for openid and session_key', async () => {
    const code = sim.app.login('oUserA');
    const session = await code2Session(creds, code, HTTP);
    expect(session.openId).toBe('oUserA');
    expect(session.sessionKey).toBe(sim.app.sessionKeyOf('oUserA'));
    expect(Buffer.from(session.sessionKey, 'base64')).toHaveLength(16);
    expect(session.unionId).toBeNull();
    expect(calls()).toBe(1);
  });

  it('passes the unionid on when WeChat sends one', async () => {
    const session = await code2Session(creds, sim.app.login('oUserB', { unionId: 'oUnionB' }), HTTP);
    expect(session).toMatchObject({ openId: 'oUserB', unionId: 'oUnionB' });
  });

  it('an HTTP status other than 200 or 5xx is WECHAT_ERROR, not retried', async () => {
    const err = await expectFailure(code2Session({ ...creds, apiBaseUrl: `${creds.apiBaseUrl}/nowhere` }, sim.app.login('oUserC'), HTTP), 'WECHAT_ERROR');
    expect(err.message).toMatch(/404/);
    // The simulator counts only known endpoints: the request never reached jscode2session.
    expect(calls()).toBe(0);
  });
});

describe('code2Session errcode mapping', () => {
  it('40029: an unknown code is WECHAT_CODE_INVALID', async () => {
    const err = await expectFailure(code2Session(creds, 'no-such-code', HTTP), 'WECHAT_CODE_INVALID');
    expect(err).toBeInstanceOf(WeChatApiError);
    expect((err as WeChatApiError).errcode).toBe(40029);
    expect(calls()).toBe(1);
  });

  it('40163: a code used twice is WECHAT_CODE_USED', async () => {
    const code = sim.app.login('oUserD');
    await code2Session(creds, code, HTTP);
    const err = await expectFailure(code2Session(creds, code, HTTP), 'WECHAT_CODE_USED');
    expect((err as WeChatApiError).errcode).toBe(40163);
    expect(calls()).toBe(2);
  });

  it.each<[number, ErrorReason]>([
    [40029, 'WECHAT_CODE_INVALID'],
    [40163, 'WECHAT_CODE_USED'],
    [45011, 'WECHAT_RATE_LIMITED'],
    [40226, 'WECHAT_USER_BLOCKED'],
    [40013, 'WECHAT_MISCONFIGURED'],
    [40125, 'WECHAT_MISCONFIGURED'],
  ])('errcode %i → %s, not retried', async (errcode, reason) => {
    const err = await expectFailure(code2Session(creds, sim.app.failingCode(errcode), HTTP), reason);
    expect(err).toBeInstanceOf(WeChatApiError);
    expect((err as WeChatApiError).errcode).toBe(errcode);
    expect(calls()).toBe(1);
  });

  it('a wrong appid (40013) or a wrong secret (40125) is WECHAT_MISCONFIGURED', async () => {
    const wrongId = await expectFailure(code2Session({ ...creds, appId: 'wx0000000000000000' }, sim.app.login('oUserE'), HTTP), 'WECHAT_MISCONFIGURED');
    expect((wrongId as WeChatApiError).errcode).toBe(40013);
    const wrongSecret = await expectFailure(code2Session({ ...creds, appSecret: 'wrong-secret' }, sim.app.login('oUserE'), HTTP), 'WECHAT_MISCONFIGURED');
    expect((wrongSecret as WeChatApiError).errcode).toBe(40125);
    expect(wrongSecret.message).not.toContain('wrong-secret');
    expect(calls()).toBe(2);
  });

  it('an unknown errcode is WECHAT_ERROR and keeps the errcode', async () => {
    const err = await expectFailure(code2Session(creds, sim.app.failingCode(61234, 'something new'), HTTP), 'WECHAT_ERROR');
    expect(err).toBeInstanceOf(WeChatApiError);
    expect((err as WeChatApiError).errcode).toBe(61234);
    expect(err.message).toContain('61234');
    expect(calls()).toBe(1);
  });

  it('a non-transient errcode injected as a fault is not retried', async () => {
    sim.injectFault('jscode2session', { kind: 'errcode', errcode: 40226 }, 5);
    await expectFailure(code2Session(creds, sim.app.login('oUserF'), { ...HTTP, retries: 4 }), 'WECHAT_USER_BLOCKED');
    expect(calls()).toBe(1);
  });
});

describe('code2Session transient faults', () => {
  const faults: Array<[string, FaultKind]> = [
    ['errcode -1', { kind: 'errcode', errcode: -1, errmsg: 'system error' }],
    ['http500', { kind: 'http500' }],
    ['garbage', { kind: 'garbage' }],
    ['reset', { kind: 'reset' }],
    ['timeout', { kind: 'timeout' }],
  ];
  const optsFor = (fault: FaultKind): WeChatHttpOptions => (fault.kind === 'timeout' ? { ...HTTP, timeoutMs: 300 } : HTTP);

  it.each(faults)('%s once, then success: retried', async (_name, fault) => {
    sim.injectFault('jscode2session', fault, 1);
    const session = await code2Session(creds, sim.app.login('oRetry'), optsFor(fault));
    expect(session.openId).toBe('oRetry');
    expect(session.sessionKey).toBe(sim.app.sessionKeyOf('oRetry'));
    expect(calls()).toBe(2);
  });

  it.each(faults)('%s on every attempt: WECHAT_UNAVAILABLE after retries+1 calls', async (_name, fault) => {
    const opts = optsFor(fault);
    sim.injectFault('jscode2session', fault, opts.retries + 1);
    await expectFailure(code2Session(creds, sim.app.login('oDown'), opts), 'WECHAT_UNAVAILABLE');
    expect(calls()).toBe(opts.retries + 1);
  });

  it('honours retries: 0 (one call) and a larger retry count', async () => {
    sim.injectFault('jscode2session', { kind: 'http500' }, 10);
    await expectFailure(code2Session(creds, sim.app.login('oR0'), { ...HTTP, retries: 0 }), 'WECHAT_UNAVAILABLE');
    expect(calls()).toBe(1);
    sim.resetStats();
    await expectFailure(code2Session(creds, sim.app.login('oR4'), { ...HTTP, retries: 4 }), 'WECHAT_UNAVAILABLE');
    expect(calls()).toBe(5);
  });

  it('"code used" heard by a retry is WECHAT_UNAVAILABLE: the first attempt may have used the code', async () => {
    // As if the first attempt reached WeChat, used the code, and its answer was lost.
    sim.injectFault('jscode2session', { kind: 'http500' }, 1);
    sim.injectFault('jscode2session', { kind: 'errcode', errcode: 40163 }, 1);
    const err = await expectFailure(code2Session(creds, sim.app.login('oLost'), HTTP), 'WECHAT_UNAVAILABLE');
    expect(err.message).toMatch(/wx\.login again/);
    expect(calls()).toBe(2);
  });

  it('a transient fault followed by a non-transient errcode stops at the errcode', async () => {
    sim.injectFault('jscode2session', { kind: 'errcode', errcode: -1 }, 1);
    sim.injectFault('jscode2session', { kind: 'errcode', errcode: 45011 }, 1);
    await expectFailure(code2Session(creds, sim.app.login('oMixed'), HTTP), 'WECHAT_RATE_LIMITED');
    expect(calls()).toBe(2);
  });
});

describe('secrets in errors', () => {
  it('no error seen in this file carries the app secret', async () => {
    sim.injectFault('jscode2session', { kind: 'reset' }, 3);
    await expectFailure(code2Session(creds, sim.app.login('oS'), HTTP), 'WECHAT_UNAVAILABLE');
    await expectFailure(code2Session(creds, sim.app.failingCode(61234), HTTP), 'WECHAT_ERROR');
    await expectFailure(code2Session({ ...creds, apiBaseUrl: 'http://127.0.0.1:1' }, 'c', { ...HTTP, retries: 0 }), 'WECHAT_UNAVAILABLE');
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const err of seen) {
      expect(err).toBeInstanceOf(Error);
      const e = err as Error;
      expect(e.message).not.toContain(APP.appSecret);
      expect(String(e.stack)).not.toContain(APP.appSecret);
      expect(JSON.stringify(e)).not.toContain(APP.appSecret);
      expect(String(e)).not.toContain(APP.appSecret);
    }
  });
});
