import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTRPCClient, httpLink } from '@trpc/client';
import mongoose from 'mongoose';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createWeChatSimulator, type WeChatSimulator } from '../server/infra/dev/wechatSimulator';
import type { AppRouter } from '../server/root';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/serverProcess';

const api = (url: string, token?: string) =>
  createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/trpc`, transformer: superjson, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) })],
  });

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

describe('an account deletion killed half-way (SIGKILL) is finished by the next process on the database', () => {
  const app = { appId: `wx${randomBytes(8).toString('hex')}`, appSecret: randomBytes(16).toString('hex') };
  const dbName = `deletion_crash_${randomBytes(4).toString('hex')}`;
  let sim: WeChatSimulator;
  let cwd: string;
  let db: mongoose.mongo.Db;
  let client: mongoose.mongo.MongoClient;
  const servers: ServerProcess[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    // One WeChat app for both processes: the test plays the phone (wx.login) against it.
    sim = createWeChatSimulator({ apps: [app] });
    const simUrl = await sim.start();
    cwd = mkdtempSync(join(tmpdir(), 'wxlogin-deletion-crash-'));
    env = {
      NODE_ENV: 'test',
      MONGODB_URI: `${inject('mongodbUri').replace(/\/?$/, '/')}${dbName}`,
      WECHAT_APP_ID: app.appId,
      WECHAT_APP_SECRET: app.appSecret,
      WECHAT_API_BASE_URL: simUrl,
      JWT_SECRET: randomBytes(24).toString('hex'),
      AUTH_REGISTRATION: 'auto',
      PORT: '0',
      LOG_LEVEL: 'info',
    };
    client = new mongoose.mongo.MongoClient(inject('mongodbUri'));
    await client.connect();
    db = client.db(dbName);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    await client?.close();
    await sim?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('resumes at start and leaves nothing of the user', async () => {
    const stalling = await startServerProcess({
      env,
      cwd,
      args: ['--import', pathToFileURL(resolve(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, resolve(ROOT, 'test/fixtures/stallingDeletionServer.ts')],
    });
    servers.push(stalling);
    const openId = `o_crash_${randomBytes(6).toString('hex')}`;
    const login = await api(stalling.url).auth.login.mutate({ code: sim.app.login(openId) });
    await api(stalling.url, login.accessToken).notes.create.mutate({ text: 'gone with the account' });
    const userId = new mongoose.Types.ObjectId(login.user.id);

    // The request never answers: the deletion hangs in the stalling module's hook. Killed there.
    const asked = api(stalling.url, login.accessToken).user.deleteAccount.mutate({ code: sim.app.login(openId) }).catch((err: unknown) => err);
    await until(async () => stalling.stdout().includes('deletion stalled'), 20_000, 'the deletion to reach the stalling hook');
    expect((await stalling.stop('SIGKILL')).signal).toBe('SIGKILL');
    await asked;

    // Half-way: recorded, sessions ended, the notes gone; the user, identity and sessions still there.
    expect(await db.collection('account_deletions').countDocuments({ _id: login.user.id as never })).toBe(1);
    expect(await db.collection('notes').countDocuments({ userId: login.user.id })).toBe(0);
    expect(await db.collection('users').countDocuments({ _id: userId })).toBe(1);
    expect(await db.collection('wechat_identities').countDocuments({ userId })).toBe(1);
    expect(await db.collection('sessions').countDocuments({ userId })).toBeGreaterThan(0);

    // A plain server on the same database finishes the job at start.
    const next = await startServerProcess({ env, cwd });
    servers.push(next);
    await until(async () => (await db.collection('account_deletions').countDocuments({})) === 0, 20_000, 'the resumed deletion');
    for (const name of (await db.listCollections().toArray()).map((c) => c.name)) {
      const docs = await db.collection(name).find({}).toArray();
      const text = docs.map((d) => mongoose.mongo.BSON.EJSON.stringify(d)).join('\n');
      expect(text.includes(openId), `${name} holds the openid`).toBe(false);
      expect(text.includes(login.user.id), `${name} holds the user id`).toBe(false);
    }
    expect(next.stdout()).toContain('account deleted');
    // The same WeChat user is a new user there.
    const again = await api(next.url).auth.login.mutate({ code: sim.app.login(openId) });
    expect(again.isNewUser).toBe(true);
  }, 120_000);
});
