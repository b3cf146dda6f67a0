// The access token manager against the real simulator (over HTTP) and the real test database,
// with several "instances": each its own mongoose connection and instanceId.
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  wechatAccessTokenLeaseModel,
  wechatAccessTokenModel,
  type WechatAccessTokenModel,
} from '../db/models/wechatAccessToken';
import { AppError } from '../errors';
import { createSecretBox } from '../secrets/secretBox';
import { createAccessTokenManager, type AccessTokenManager, type AccessTokenManagerOptions } from './accessTokenManager';
import { WeChatApiError } from './errcodes';
import { requestWeChatJson, type WeChatHttpOptions } from './requestJson';
import { createWeChatSimulator, type WeChatSimulator } from '../infra/dev/wechatSimulator';

const HTTP: WeChatHttpOptions = { timeoutMs: 3000, retries: 0 };
const SECRET = 'the-app-secret';
const box = createSecretBox(randomBytes(32));
const dbName = `test_atm_${randomBytes(4).toString('hex')}`;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const connections: Connection[] = [];
const models: WechatAccessTokenModel[] = [];
const simulators: WeChatSimulator[] = [];
let appCounter = 0;

beforeAll(async () => {
  for (let i = 0; i < 3; i++) {
    const conn = mongoose.createConnection(inject('mongodbUri'), { dbName, serverSelectionTimeoutMS: 5000 });
    await conn.asPromise();
    connections.push(conn);
    const model = wechatAccessTokenModel(conn);
    await Promise.all([model.init(), wechatAccessTokenLeaseModel(conn).init()]);
    models.push(model);
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  await Promise.all(simulators.map((sim) => sim.stop()));
  await connections[0]?.dropDatabase().catch(() => undefined);
  await Promise.all(connections.map((conn) => conn.close()));
});

/** A fresh simulator and appId per test, so counters and documents never mix. */
async function scenario(simOpts: { accessTokenTtlS?: number } = {}) {
  const appId = `wxatm${String(++appCounter).padStart(4, '0')}${randomBytes(3).toString('hex')}`;
  const sim = createWeChatSimulator({ apps: [{ appId, appSecret: SECRET }], ...simOpts });
  simulators.push(sim);
  await sim.start();
  const manager = (instance: number, overrides: Partial<AccessTokenManagerOptions> = {}): AccessTokenManager =>
    createAccessTokenManager({
      model: models[instance]!,
      box,
      apps: [{ appId, appSecret: SECRET, apiBaseUrl: sim.url }],
      http: HTTP,
      mode: 'stable',
      instanceId: `instance-${instance}`,
      pollMs: 20,
      ...overrides,
    });
  return { appId, sim, manager, raw: () => models[0]!.findById(appId).lean().exec() };
}

/** The phone number API, which needs a valid access token. */
function phoneNumberCall(sim: WeChatSimulator, code: string) {
  return (token: string) =>
    requestWeChatJson<{ phone_info: { purePhoneNumber: string; countryCode: string } }>(
      `${sim.url}/wxa/business/getuserphonenumber?access_token=${encodeURIComponent(token)}`,
      { method: 'POST', body: { code } },
      HTTP,
    );
}

const PHONE = { purePhoneNumber: '13800138000', countryCode: '86' };

describe('access token manager', () => {
  it('fetches the token once, then serves it from memory', async () => {
    const { appId, sim, manager } = await scenario();
    const atm = manager(0);
    const first = await atm.get(appId);
    expect(await atm.get(appId)).toBe(first);
    expect(await atm.get(appId)).toBe(first);
    expect(atm.stats()).toEqual({ memoryHits: 2, dbHits: 0, fetches: 1 });
    expect(sim.stats().stable_token).toBe(1);
    expect(sim.stats().token).toBe(0);
    // and it is a token WeChat accepts
    const answer = await atm.withToken(appId, phoneNumberCall(sim, sim.app.phoneCode('o-user', PHONE)));
    expect(answer.phone_info.purePhoneNumber).toBe('13800138000');
  });

  it('three instances, 50 concurrent get() calls: one fetch at WeChat, one token for all', async () => {
    const { appId, sim, manager } = await scenario();
    const atms = [manager(0), manager(1), manager(2)];
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => atms[i % 3]!.get(appId)));
    expect(new Set(tokens).size).toBe(1);
    expect(sim.stats().stable_token).toBe(1);
    const stats = atms.map((a) => a.stats());
    expect(stats.reduce((n, s) => n + s.fetches, 0)).toBe(1);
    // the two instances that did not fetch read it from the database
    expect(stats.filter((s) => s.fetches === 0).every((s) => s.dbHits === 1)).toBe(true);
  });

  it('refreshes once the token is within the margin of its expiry', async () => {
    const { appId, sim, manager } = await scenario();
    let clock = Date.now();
    const atm = manager(0, { now: () => new Date(clock), refreshMarginS: 300 });
    await atm.get(appId);
    expect(sim.stats().stable_token).toBe(1);

    clock += (7200 - 300 - 1) * 1000; // one second before the margin: still fresh
    await atm.get(appId);
    expect(sim.stats().stable_token).toBe(1);

    clock += 2000; // inside the margin
    await atm.get(appId);
    await atm.get(appId);
    expect(sim.stats().stable_token).toBe(2);
    expect(atm.stats()).toMatchObject({ fetches: 2, memoryHits: 2 });
    const doc = await models[0]!.findById(appId).lean().exec();
    expect(doc?.expiresAt?.getTime()).toBeGreaterThan(clock + 7000 * 1000);
  });

  it('recovers from a token WeChat revoked: one forced refetch, the other instances read it from the database', async () => {
    const { appId, sim, manager } = await scenario();
    const atms = [manager(0), manager(1), manager(2)];
    const old = await atms[0]!.get(appId);
    expect(await atms[1]!.get(appId)).toBe(old);
    expect(await atms[2]!.get(appId)).toBe(old);
    expect(sim.stats().stable_token).toBe(1);

    sim.invalidateAccessTokens();
    const requestsBefore = sim.stableTokenRequests().length;

    const seen: string[] = [];
    const answers = await Promise.all(
      atms.map((atm, i) => {
        const call = phoneNumberCall(sim, sim.app.phoneCode(`o-user-${i}`, PHONE));
        return atm.withToken(appId, (token) => {
          seen.push(token);
          return call(token);
        });
      }),
    );
    for (const answer of answers) expect(answer.phone_info).toMatchObject(PHONE);
    // each instance: the revoked token (40001), then the new one
    expect(seen.filter((t) => t === old)).toHaveLength(3);
    const fresh = seen.filter((t) => t !== old);
    expect(fresh).toHaveLength(3);
    expect(new Set(fresh).size).toBe(1);

    expect(sim.stats().stable_token).toBe(2);
    expect(sim.stats().getuserphonenumber).toBe(6);
    expect(sim.stableTokenRequests().slice(requestsBefore)).toEqual([{ appId, forceRefresh: true }]);
    const stats = atms.map((a) => a.stats());
    expect(stats.reduce((n, s) => n + s.fetches, 0)).toBe(2);
    expect(stats.reduce((n, s) => n + s.dbHits, 0)).toBe(2 + 2);
  });

  it('a token error other than 40001/40014/42001 is not retried', async () => {
    const { appId, sim, manager } = await scenario();
    const atm = manager(0);
    let calls = 0;
    const err = await atm
      .withToken(appId, async () => {
        calls += 1;
        throw new WeChatApiError(40029, { reason: 'WECHAT_CODE_INVALID', message: 'invalid code' });
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeChatApiError);
    expect(calls).toBe(1);
    expect(sim.stats().stable_token).toBe(1);
  });

  it('takes over from a lease holder that died before writing a token', async () => {
    const { appId, sim, manager, raw } = await scenario();
    const leaseUntil = new Date(Date.now() + 1500);
    await models[1]!.updateOne({ _id: appId }, { $set: { leaseOwner: 'dead-instance', leaseUntil } }, { upsert: true });

    const atms = [manager(0, { pollMs: 50 }), manager(1, { pollMs: 50 }), manager(2, { pollMs: 50 })];
    const started = Date.now();
    const pending = Promise.all(atms.map((atm) => atm.get(appId)));
    await sleep(700);
    expect(sim.stats().stable_token).toBe(0); // all still waiting for the (dead) holder
    const tokens = await pending;
    expect(Date.now()).toBeGreaterThanOrEqual(leaseUntil.getTime() - 50);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(new Set(tokens).size).toBe(1);
    expect(sim.stats().stable_token).toBe(1); // one of the three took over, the others read its token
    expect(atms.reduce((n, a) => n + a.stats().fetches, 0)).toBe(1);
    expect(await raw()).toMatchObject({ leaseOwner: null, leaseUntil: null, tokenHash: sha256(tokens[0]!) });
  });

  it('a live holder keeps its lease through a slow fetch (heartbeat); the others wait for its token', async () => {
    const { appId, sim, manager } = await scenario();
    const slow = manager(0, { leaseMs: 300, pollMs: 20, http: { timeoutMs: 5000, retries: 0 } });
    const waiter = manager(1, { leaseMs: 300, pollMs: 20 });
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      if (String(input).endsWith('/cgi-bin/stable_token')) await sleep(1000); // > 3 lease lengths
      return realFetch(input, init);
    });
    const first = slow.get(appId);
    await sleep(100);
    const second = waiter.get(appId);
    expect(await second).toBe(await first);
    expect(sim.stats().stable_token).toBe(1);
    expect(waiter.stats()).toMatchObject({ fetches: 0, dbHits: 1 });
  });

  it("plain mode uses cgi-bin/token", async () => {
    const { appId, sim, manager } = await scenario();
    const atm = manager(0, { mode: 'plain' });
    const token = await atm.get(appId);
    expect(await atm.get(appId)).toBe(token);
    expect(sim.stats()).toMatchObject({ token: 1, stable_token: 0 });
    const answer = await atm.withToken(appId, phoneNumberCall(sim, sim.app.phoneCode('o-plain', PHONE)));
    expect(answer.phone_info.purePhoneNumber).toBe('13800138000');
  });

  it('a bad secret fails with WECHAT_MISCONFIGURED and leaves the lease free', async () => {
    const { appId, sim, manager, raw } = await scenario();
    const atm = manager(0, { apps: [{ appId, appSecret: 'not-the-secret', apiBaseUrl: sim.url }] });
    const err = await atm.get(appId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ reason: 'WECHAT_MISCONFIGURED', errcode: 40125 });
    expect(String((err as Error).message)).not.toContain('not-the-secret');
    const doc = await raw();
    expect(doc).toMatchObject({ leaseOwner: null, leaseUntil: null });
    expect(doc?.tokenEnc ?? null).toBeNull();
    const claims = await wechatAccessTokenLeaseModel(connections[0]!).find({ appId }).lean().exec();
    expect(claims.length).toBeGreaterThan(0);
    expect(claims.every((c) => c.released)).toBe(true);

    // the lease being free, the right secret (another instance) gets a token at once
    const good = manager(1);
    expect(await good.get(appId)).toMatch(/.+/);
    expect(good.stats().fetches).toBe(1);
  });

  it('an unknown appId is WECHAT_APP_UNKNOWN', async () => {
    const { manager } = await scenario();
    await expect(manager(0).get('wx-not-configured')).rejects.toMatchObject({ reason: 'WECHAT_APP_UNKNOWN' });
  });

  it('stores the token sealed: the raw document never holds it in the clear', async () => {
    const { appId, manager } = await scenario();
    const atm = manager(0);
    const token = await atm.get(appId);
    const rawDoc = await connections[2]!.db!.collection<{ _id: string }>('wechat_access_tokens').findOne({ _id: appId });
    expect(rawDoc).not.toBeNull();
    const text = JSON.stringify(rawDoc);
    expect(text).not.toContain(token);
    expect(rawDoc).toMatchObject({ tokenHash: sha256(token), leaseOwner: null });
    const sealed = (rawDoc as unknown as { tokenEnc: string }).tokenEnc;
    expect(sealed).toMatch(/^v1\./);
    expect(box.open(sealed)).toBe(token);
  });

  it('invalidate() only clears the database when it still holds that token', async () => {
    const { appId, manager, raw } = await scenario();
    const atm = manager(0);
    const token = await atm.get(appId);
    await atm.invalidate(appId, 'some-older-token');
    expect((await raw())?.tokenHash).toBe(sha256(token));
    await atm.invalidate(appId, token);
    expect(await raw()).toMatchObject({ tokenHash: null, tokenEnc: null, expiresAt: null });
  });
});
