import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Types } from 'mongoose';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createCaller, createContext } from '../server/root';
import type { AdminCountsOutput, AdminUserDetail } from '../shared';
import { expectReason } from './helpers/expectError';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';

const ROOT = resolve(import.meta.dirname, '..');
const OLD_DAY = new Date('2020-01-15T12:00:00Z');

describe('admin procedures', () => {
  // Two apps, so the app filter and the per-app counts have something to tell apart.
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto' }, { simulatorApps: 2 });
  const admin = () => createCaller(createContext({ services: t.backend.services, admin: true })).admin;
  const apps = () => t.backend.wechatApps.map((a) => a.appId) as [string, string];
  const login = (openid: string, opts: { appId?: string; unionId?: string } = {}) => {
    const appId = opts.appId ?? apps()[0];
    return t.client({ appId }).auth.login.mutate({ code: t.wxLogin(openid, { ...opts, appId }) });
  };

  /** Seed: three users in the first app, two in the second, one in both (one unionId), one created long ago. */
  const seed = { first: [] as string[], second: [] as string[], both: '', old: '', oldOpenId: '' };
  beforeAll(async () => {
    const [a, b] = apps();
    for (let i = 0; i < 3; i++) seed.first.push((await login(uniqueOpenId('first'), { appId: a })).user.id);
    for (let i = 0; i < 2; i++) seed.second.push((await login(uniqueOpenId('second'), { appId: b })).user.id);
    const unionId = `union_${Date.now()}`;
    seed.both = (await login(uniqueOpenId('bothA'), { appId: a, unionId })).user.id;
    expect((await login(uniqueOpenId('bothB'), { appId: b, unionId })).user.id).toBe(seed.both);
    seed.oldOpenId = uniqueOpenId('old');
    seed.old = (await login(seed.oldOpenId, { appId: a })).user.id;
    // Straight to the collection: mongoose keeps createdAt immutable.
    await t.backend.services.db.User.collection.updateOne({ _id: new Types.ObjectId(seed.old) }, { $set: { createdAt: OLD_DAY } });
  });

  it('lists users newest first, page by page', async () => {
    const all = await admin().listUsers({ pageSize: 100 });
    expect(all.total).toBe(7);
    expect(all.items.map((u) => u.createdAt.getTime())).toEqual([...all.items.map((u) => u.createdAt.getTime())].sort((x, y) => y - x));
    expect(all.items.at(-1)!.id).toBe(seed.old);

    const pages = [];
    for (let page = 1; page <= 3; page++) {
      const result = await admin().listUsers({ page, pageSize: 3 });
      expect(result).toMatchObject({ page, pageSize: 3, total: 7 });
      pages.push(...result.items.map((u) => u.id));
    }
    expect(pages).toEqual(all.items.map((u) => u.id));
    expect((await admin().listUsers({ page: 4, pageSize: 3 })).items).toEqual([]);
    // Defaults, and bounds the schema enforces.
    expect(await admin().listUsers({})).toMatchObject({ page: 1, pageSize: 20, total: 7 });
    await expect(admin().listUsers({ pageSize: 101 })).rejects.toMatchObject({ cause: expect.anything(), code: 'BAD_REQUEST' });
  });

  it('shows no secrets in what it lists', async () => {
    const { items } = await admin().listUsers({ pageSize: 100 });
    for (const user of items) {
      expect(Object.keys(user).sort()).toEqual(
        ['createdAt', 'deletionScheduledFor', 'id', 'lastLoginAt', 'nickName', 'openId', 'phone', 'registeredAppId', 'status', 'unionId'],
      );
    }
  });

  it('filters by app: users with an identity there', async () => {
    const [a, b] = apps();
    const inA = (await admin().listUsers({ appId: a })).items.map((u) => u.id).sort();
    const inB = (await admin().listUsers({ appId: b })).items.map((u) => u.id).sort();
    expect(inA).toEqual([...seed.first, seed.both, seed.old].sort());
    expect(inB).toEqual([...seed.second, seed.both].sort());
    expect(await admin().listUsers({ appId: 'wx_no_such_app' })).toMatchObject({ items: [], total: 0 });
  });

  it('filters by creation time: from inclusive, to exclusive', async () => {
    const old = await admin().listUsers({ createdFrom: new Date('2020-01-01'), createdTo: new Date('2020-02-01') });
    expect(old.items.map((u) => u.id)).toEqual([seed.old]);
    expect((await admin().listUsers({ createdFrom: OLD_DAY, createdTo: new Date(OLD_DAY.getTime() + 1) })).total).toBe(1);
    expect((await admin().listUsers({ createdTo: OLD_DAY })).total).toBe(0);
    expect((await admin().listUsers({ createdFrom: new Date('2021-01-01') })).total).toBe(6);
    expect((await admin().listUsers({ createdFrom: new Date(Date.now() + 60_000) })).total).toBe(0);
  });

  it('gets one user with their identities and live sessions', async () => {
    const [a, b] = apps();
    const user = await admin().getUser({ id: seed.both });
    expect(user).toMatchObject({ id: seed.both, status: 'active', registeredAppId: a, liveSessions: 2, phone: null });
    expect(user.identities.map((i) => i.appId).sort()).toEqual([a, b].sort());
    expect(user.identities.map((i) => i.openId).every((o) => o.startsWith('o_both'))).toBe(true);
    expect(JSON.stringify(user)).not.toMatch(/sessionKey|tokenHash|Enc"/);

    await expect(admin().getUser({ id: new Types.ObjectId().toHexString() })).rejects.toMatchObject({ cause: { reason: 'USER_NOT_FOUND' } });
    await expect(admin().getUser({ id: 'not-an-id' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('bans: login is refused, refresh fails, the access token stops working; unban lets them back', async () => {
    const openid = uniqueOpenId('banned');
    const session = await login(openid);
    const id = session.user.id;

    const banned = await admin().banUser({ id });
    expect(banned).toMatchObject({ id, status: 'banned', openId: openid });
    expect((await admin().getUser({ id })).liveSessions).toBe(0);

    await expectReason(login(openid), 'USER_BANNED', 403);
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: session.refreshToken }), 'REFRESH_TOKEN_INVALID');
    await expectReason(t.client({ token: session.accessToken }).auth.me.query(), 'USER_BANNED');
    expect((await admin().listUsers({ status: 'banned' })).items.map((u) => u.id)).toEqual([id]);
    expect((await admin().listUsers({ status: 'active' })).items.map((u) => u.id)).not.toContain(id);

    expect(await admin().unbanUser({ id })).toMatchObject({ id, status: 'active' });
    // The ban's sessions stay ended; a new login works.
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: session.refreshToken }), 'REFRESH_TOKEN_INVALID');
    const again = await login(openid);
    expect(again.user).toMatchObject({ id, status: 'active' });
    expect((await admin().listUsers({ status: 'banned' })).total).toBe(0);
  });

  it('revokes every session of a user', async () => {
    const openid = uniqueOpenId('revoked');
    const first = await login(openid);
    const second = await login(openid);
    expect((await admin().getUser({ id: first.user.id })).liveSessions).toBe(2);

    expect(await admin().revokeSessions({ id: first.user.id })).toEqual({ revokedSessions: 2 });
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: first.refreshToken }), 'REFRESH_TOKEN_INVALID');
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: second.refreshToken }), 'REFRESH_TOKEN_INVALID');
    await expectReason(t.client({ token: second.accessToken }).auth.me.query(), 'SESSION_REVOKED');
    expect(await admin().getUser({ id: first.user.id })).toMatchObject({ status: 'active', liveSessions: 0 });
    expect(await admin().revokeSessions({ id: first.user.id })).toEqual({ revokedSessions: 0 });
  });

  it('counts users, bans, sign-ups, live sessions and users per app', async () => {
    const [a, b] = apps();
    const before = await admin().counts();
    expect(before.users).toBe(before.active + before.banned);
    expect(before.users).toBe((await admin().listUsers({})).total);
    expect(before.registeredLast24h).toBe(before.users - 1); // all but the one created in 2020
    expect(before.byApp).toEqual({ [a]: (await admin().listUsers({ appId: a })).total, [b]: 3 });

    const fresh = await login(uniqueOpenId('counted'), { appId: b });
    const added = await admin().counts();
    expect(added).toEqual<AdminCountsOutput>({
      users: before.users + 1,
      active: before.active + 1,
      banned: before.banned,
      registeredLast24h: before.registeredLast24h + 1,
      liveSessions: before.liveSessions + 1,
      byApp: { [a]: before.byApp[a]!, [b]: 4 },
    });

    await admin().banUser({ id: fresh.user.id });
    expect(await admin().counts()).toMatchObject({ active: before.active, banned: before.banned + 1, liveSessions: before.liveSessions });
    await admin().unbanUser({ id: fresh.user.id });
  });

  it('refuses callers without admin rights: in process, and always over HTTP', async () => {
    const plain = createCaller(createContext({ services: t.backend.services })).admin;
    await expect(plain.counts()).rejects.toMatchObject({ code: 'FORBIDDEN', cause: { reason: 'ADMIN_ONLY' } });
    await expect(plain.banUser({ id: seed.old })).rejects.toMatchObject({ cause: { reason: 'ADMIN_ONLY' } });
    await expect(createCaller(createContext({ services: t.backend.services, admin: false })).admin.listUsers({})).rejects.toMatchObject({
      cause: { reason: 'ADMIN_ONLY' },
    });
    expect((await admin().getUser({ id: seed.old })).status).toBe('active');

    await expectReason(t.client().admin.counts.query(), 'ADMIN_ONLY', 403);
    const token = (await login(uniqueOpenId('http'))).accessToken;
    await expectReason(t.client({ token }).admin.banUser.mutate({ id: seed.old }), 'ADMIN_ONLY', 403);
    await expectReason(t.client({ token }).admin.listUsers.query({}), 'ADMIN_ONLY', 403);
  });

  // Each test starts up to six processes one after another, each loading tsx and the server's
  // modules (~1.5 s of CPU): on a busy machine (load average 14-17 seen) 30 s is not enough.
  describe('the CLI (scripts/admin.ts) as a real process on the same database', { timeout: 120_000 }, () => {
    const dbUri = () => `${inject('mongodbUri').replace(/\/?$/, '/')}${t.dbName}`;
    const cli = (args: string[], env: Record<string, string | undefined> = { MONGODB_URI: dbUri() }) => {
      const { MONGODB_URI: _uri, WECHAT_APP_ID: _app, WECHAT_APPS: _apps, ...base } = process.env;
      return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(
          join(ROOT, 'node_modules', '.bin', 'tsx'),
          [join(ROOT, 'scripts/admin.ts'), ...args],
          { cwd: ROOT, env: { ...base, NODE_ENV: 'test', ...env }, timeout: 60_000 },
          (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
        );
      });
    };
    const oneLine = (stderr: string) => {
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(stderr).not.toMatch(/\n\s+at /);
      return lines[0]!;
    };

    it('counts --json: one JSON document matching the procedure', async () => {
      const run = await cli(['counts', '--json']);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(run.stdout)).toEqual(await admin().counts());
    });

    it("the admin page's (docs/operations/admin.md) `counts --json` command, run as written through npm, prints one JSON document on stdout", async () => {
      const readme = readFileSync(join(ROOT, 'docs', 'operations', 'admin.md'), 'utf8');
      const command = /^(npm run .*admin -- counts --json)\b/m.exec(readme)?.[1];
      expect(command, 'the admin page shows the command').toBeDefined();
      const { MONGODB_URI: _uri, WECHAT_APP_ID: _app, WECHAT_APPS: _apps, ...base } = process.env;
      const run = await new Promise<{ code: number; stdout: string }>((done) => {
        execFile('sh', ['-c', command!], { cwd: ROOT, env: { ...base, NODE_ENV: 'test', MONGODB_URI: dbUri() }, timeout: 60_000 }, (err, stdout) =>
          done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout }),
        );
      });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual(await admin().counts());
    });

    it('users: an aligned table with the openids; filters by date and status', async () => {
      const run = await cli(['users']);
      expect(run.code).toBe(0);
      const lines = run.stdout.split('\n');
      expect(lines[0]).toMatch(/^ID\s+OPENID\s+APP\s+STATUS/);
      expect(run.stdout).toContain(seed.oldOpenId);
      const row = lines.find((l) => l.includes(seed.oldOpenId))!;
      expect(row.indexOf(seed.oldOpenId)).toBe(lines[0]!.indexOf('OPENID'));

      const old = await cli(['users', '--from', '2020-01-15', '--to', '2020-01-15', '--json']);
      expect(old.code).toBe(0);
      const listed = JSON.parse(old.stdout) as { items: { id: string }[]; total: number };
      expect(listed.items.map((u) => u.id)).toEqual([seed.old]);

      const paged = JSON.parse((await cli(['users', '--status', 'active', '--page', '2', '--page-size', '2', '--json'])).stdout);
      expect(paged).toMatchObject({ page: 2, pageSize: 2 });
      expect(paged.items).toHaveLength(2);
    });

    it('ban <id>, then user <id> --json shows the ban', async () => {
      const { id } = (await login(uniqueOpenId('cli'))).user;
      const ban = await cli(['ban', id]);
      expect(ban.code).toBe(0);
      expect(ban.stdout).toContain(`banned user ${id}`);

      const show = await cli(['user', id, '--json']);
      expect(show.code).toBe(0);
      const user = JSON.parse(show.stdout) as AdminUserDetail;
      expect(user).toMatchObject({ id, status: 'banned', liveSessions: 0 });
      expect((await admin().getUser({ id })).status).toBe('banned');

      expect((await cli(['user', id])).stdout).toMatch(/status\s+banned/);
      expect((await cli(['unban', id])).code).toBe(0);
      expect((await admin().getUser({ id })).status).toBe('active');
    });

    it('bad arguments: exit 2 and one line on stderr', async () => {
      for (const args of [['frobnicate'], ['users', '--colour'], ['ban', 'nope'], ['users', '--from', '2024-13-01'], ['users', '--status', 'gone'], []]) {
        const run = await cli(args);
        expect(run.code, args.join(' ')).toBe(2);
        expect(oneLine(run.stderr)).toMatch(/^error: /);
        expect(run.stdout).toBe('');
      }
    });

    it('an unknown id: exit 1, error: USER_NOT_FOUND', async () => {
      const run = await cli(['user', new Types.ObjectId().toHexString()]);
      expect(run.code).toBe(1);
      expect(oneLine(run.stderr)).toMatch(/^error: USER_NOT_FOUND: /);
    });

    it('without MONGODB_URI: exit 2, saying to set it', async () => {
      const run = await cli(['counts'], {});
      expect(run.code).toBe(2);
      expect(oneLine(run.stderr)).toMatch(/MONGODB_URI is not set/);
    });
  });
});
