import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Types } from 'mongoose';
import superjson from 'superjson';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createCaller, createContext } from '../server/root';
import type { DataExportOutput } from '../shared';
import { expectReason } from './helpers/expectError';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';

const ROOT = resolve(import.meta.dirname, '..');
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const PHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.50';
const HOUR_MS = 3_600_000;

describe('user.exportData: everything stored about the user, and never a secret', () => {
  // The clock moves forward an hour for the rate limit test.
  let clockOffsetMs = 0;
  const t = useTestBackend(
    { CONSENT_VERSIONS: JSON.stringify({ privacy: '2024-05', terms: '2024-01' }), RATE_LIMIT_EXPORT_PER_HOUR: '3' },
    { simulatorApps: 2, now: () => new Date(Date.now() + clockOffsetMs) },
  );
  const apps = () => t.backend.wechatApps.map((a) => a.appId) as [string, string];
  const admin = () => createCaller(createContext({ services: t.backend.services, admin: true })).admin;

  /** The user of these tests, with everything a user can have stored; and every token they were given. */
  const user = { id: '', unionId: '', openIdA: '', openIdB: '', accessTokens: [] as string[], refreshTokens: [] as string[], token: '' };

  beforeAll(async () => {
    const [a, b] = apps();
    user.unionId = `union_${Date.now()}`;
    user.openIdA = uniqueOpenId('export_a');
    user.openIdB = uniqueOpenId('export_b');
    // A login without an account leaves a registration ticket; registering with a fresh code leaves it unused.
    await expectReason(t.client({ appId: a }).auth.login.mutate({ code: t.wxLogin(user.openIdA, { appId: a, unionId: user.unionId }) }), 'USER_NOT_REGISTERED');
    const reg = await t.client({ appId: a }).auth.register.mutate({
      code: t.wxLogin(user.openIdA, { appId: a, unionId: user.unionId }),
      profile: { nickName: '导出', avatarUrl: 'https://example.com/first.png' },
      consents: [{ document: 'privacy', version: '2024-05' }],
    });
    user.id = reg.userId;
    user.token = reg.accessToken;
    user.accessTokens.push(reg.accessToken);
    user.refreshTokens.push(reg.refreshToken);
    // The second app: the same person by unionId, from a phone with a known user agent.
    const res = await t.fetch('/trpc/auth.login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': PHONE_UA, 'x-wx-appid': b },
      body: JSON.stringify({ json: { code: t.wxLogin(user.openIdB, { appId: b, unionId: user.unionId }) } }),
    });
    const second = superjson.deserialize<{ accessToken: string; refreshToken: string; user: { id: string } }>(((await res.json()) as { result: { data: never } }).result.data);
    expect(second.user.id).toBe(user.id);
    user.accessTokens.push(second.accessToken);
    user.refreshTokens.push(second.refreshToken);
    // A refresh: the token rotated away stays in the session document as its previous hash.
    const refreshed = await t.client().auth.refresh.mutate({ refreshToken: reg.refreshToken });
    user.accessTokens.push(refreshed.accessToken);
    user.refreshTokens.push(refreshed.refreshToken);
    user.token = refreshed.accessToken;

    const api = t.client({ token: user.token });
    await api.user.recordConsent.mutate({ document: 'terms', version: '2024-01' });
    await api.user.bindPhone.mutate({ code: t.sim.appFor(a).phoneCode(user.openIdA, { purePhoneNumber: '13800138000', countryCode: '86' }) });
    const form = new FormData();
    form.append('file', new Blob([PNG], { type: 'image/png' }), 'me.png');
    expect((await t.fetch('/avatar', { method: 'POST', body: form, headers: { authorization: `Bearer ${user.token}` } })).status).toBe(200);
    await api.notes.create.mutate({ text: 'first note' });
    await api.notes.create.mutate({ text: 'second note' });
    // Someone else's data must not appear.
    const other = await t.client({ appId: a }).auth.register.mutate({ code: t.wxLogin(uniqueOpenId('export_other'), { appId: a }) });
    await t.client({ token: other.accessToken }).notes.create.mutate({ text: 'not yours' });
  });

  it('holds every part: profile, both apps’ openids, sessions with device and IP, phone, avatar, consent, ticket, module data', async () => {
    const [a, b] = apps();
    const data = await t.client({ token: user.token }).user.exportData.query();

    expect(data.format).toBe('wx-login-backend/user-export/1');
    expect(data.exportedAt).toBeInstanceOf(Date);
    expect(data.profile).toMatchObject({
      id: user.id,
      status: 'active',
      openId: user.openIdA,
      registeredAppId: a,
      unionId: user.unionId,
      nickName: '导出',
      avatarUploaded: true,
      deletionScheduledFor: null,
    });
    expect(data.profile.avatarUrl).toMatch(new RegExp(`^${t.url}/avatars/[\\w-]{22}$`));
    expect(data.phone).toEqual({ countryCode: '86', purePhoneNumber: '13800138000', phoneNumber: '13800138000', boundAt: expect.any(Date) });
    expect(data.identities.map((i) => [i.appId, i.openId, i.unionId])).toEqual(
      [
        [a, user.openIdA, user.unionId],
        [b, user.openIdB, user.unionId],
      ].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)),
    );

    expect(data.sessions).toHaveLength(2);
    const phone = data.sessions.find((s) => s.appId === b)!;
    expect(phone).toMatchObject({ openId: user.openIdB, userAgent: PHONE_UA, ip: '127.0.0.1', revokedAt: null });
    for (const s of data.sessions) {
      expect(s.createdAt).toBeInstanceOf(Date);
      expect(s.lastUsedAt.getTime()).toBeGreaterThanOrEqual(s.createdAt.getTime());
      expect(s.expiresAt.getTime()).toBeGreaterThan(s.createdAt.getTime());
    }

    expect(data.consents.map((c) => [c.document, c.version, c.appId])).toEqual([
      ['privacy', '2024-05', a],
      ['terms', '2024-01', a],
    ]);
    expect(data.registrationTickets).toEqual([{ appId: a, openId: user.openIdA, unionId: user.unionId, createdAt: expect.any(Date), expiresAt: expect.any(Date) }]);
    expect(data.modules).toEqual({ notes: { notes: [expect.objectContaining({ text: 'first note' }), expect.objectContaining({ text: 'second note' })] } });
    expect(JSON.stringify(data)).not.toContain('not yours');
  });

  it('holds no secret: none of the sealed session_keys, token hashes or tokens stored for the user', async () => {
    const db = t.backend.services.db;
    // Straight from the database: what is stored for this user that must never be shown.
    const sessions = await db.Session.collection.find({ userId: new Types.ObjectId(user.id) }).toArray();
    const tickets = await db.RegistrationTicket.collection.find({ openId: { $in: [user.openIdA, user.openIdB] } }).toArray();
    const secrets = [
      ...sessions.flatMap((s) => [s.sessionKeyEnc, s.tokenHash, s.previousHash]),
      ...tickets.flatMap((x) => [x.tokenHash, x.sessionKeyEnc]),
      ...user.accessTokens,
      ...user.refreshTokens,
      ...user.refreshTokens.map((r) => r.split('.')[1]),
      ...t.backend.wechatApps.map((app) => app.appSecret),
      t.sim.appFor(apps()[0]).sessionKeyOf(user.openIdA),
      t.sim.appFor(apps()[1]).sessionKeyOf(user.openIdB),
    ].filter((v): v is string => typeof v === 'string' && v.length > 0);
    expect(sessions.length).toBe(2);
    expect(secrets.length).toBeGreaterThanOrEqual(14);

    // As the user gets it over HTTP, and as the admin CLI's procedure gives it.
    const res = await t.fetch('/trpc/user.exportData', { headers: { authorization: `Bearer ${user.token}` } });
    expect(res.status).toBe(200);
    const wire = await res.text();
    const viaAdmin = JSON.stringify(await admin().exportUser({ id: user.id }));
    for (const text of [wire, viaAdmin]) {
      expect(text).toContain(user.openIdB); // the document is the user's ...
      expect(secrets.filter((secret) => text.includes(secret))).toEqual([]); // ... and holds none of those
      expect(text).not.toMatch(/sessionKey|tokenHash|previousHash|secret/i);
    }
    expect(t.leakedSecrets()).toEqual([]);
  });

  it('is rate-limited per user per hour (RATE_LIMIT_EXPORT_PER_HOUR), with retryAfterS; other users are not', async () => {
    // A user of its own: the other tests' exports count in their user's bucket.
    const [a] = apps();
    const login = await t.client({ appId: a }).auth.register.mutate({ code: t.wxLogin(uniqueOpenId('export_limited'), { appId: a }) });
    const api = t.client({ token: login.accessToken });
    for (let i = 0; i < 3; i++) expect((await api.user.exportData.query()).profile.id).toBe(login.userId);
    const err = await expectReason(api.user.exportData.query(), 'RATE_LIMITED', 429);
    expect(err.data.retryAfterS).toBeGreaterThan(60);
    expect(err.data.retryAfterS).toBeLessThanOrEqual(3600);
    // Another user still can.
    const someone = await t.client({ appId: a }).auth.register.mutate({ code: t.wxLogin(uniqueOpenId('export_other_user'), { appId: a }) });
    expect((await t.client({ token: someone.accessToken }).user.exportData.query()).profile.id).toBe(someone.userId);
    // An hour later (the server's clock), the user can again.
    clockOffsetMs += HOUR_MS + 1000;
    expect((await api.user.exportData.query()).profile.id).toBe(login.userId);
  });

  it('needs an access token', async () => {
    await expectReason(t.client().user.exportData.query(), 'TOKEN_MISSING', 401);
  });

  // Loading tsx and the server's modules in a child process takes seconds on a busy machine.
  describe('npm run admin -- export <id>, as a real process', { timeout: 120_000 }, () => {
    const dbUri = () => `${inject('mongodbUri').replace(/\/?$/, '/')}${t.dbName}`;
    // PUBLIC_BASE_URL: the server's address, as in production; avatar URLs start with it.
    const cli = (args: string[], env: Record<string, string> = { PUBLIC_BASE_URL: t.url }) => {
      const { MONGODB_URI: _uri, WECHAT_APP_ID: _app, WECHAT_APPS: _apps, PUBLIC_BASE_URL: _base, ...base } = process.env;
      return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(
          join(ROOT, 'node_modules', '.bin', 'tsx'),
          [join(ROOT, 'scripts/admin.ts'), ...args],
          { cwd: ROOT, env: { ...base, NODE_ENV: 'test', MONGODB_URI: dbUri(), ...env }, timeout: 60_000 },
          (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
        );
      });
    };

    it('prints the same document as user.exportData, as JSON on stdout', async () => {
      const run = await cli(['export', user.id]);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      const printed = JSON.parse(run.stdout) as Record<string, unknown>;
      const expected = JSON.parse(JSON.stringify(await admin().exportUser({ id: user.id }))) as Record<string, unknown>;
      // The same document but for when it was made.
      expect(new Date(printed.exportedAt as string).getTime()).toBeGreaterThan(0);
      expect({ ...printed, exportedAt: null }).toEqual({ ...expected, exportedAt: null });
      expect((printed as unknown as DataExportOutput).modules).toHaveProperty('notes');
      expect((printed as unknown as DataExportOutput).profile.avatarUrl).toMatch(new RegExp(`^${t.url}/avatars/`));
    });

    it('without PUBLIC_BASE_URL (development), avatar URLs start with the address the server would listen on', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'wx-admin-export-'));
      try {
        const run = await cli(['export', user.id], { HOST: '127.0.0.1', PORT: '3999', DATA_DIR: dataDir });
        expect(run).toMatchObject({ code: 0, stderr: '' });
        expect((JSON.parse(run.stdout) as DataExportOutput).profile.avatarUrl).toMatch(/^http:\/\/127\.0\.0\.1:3999\/avatars\/[\w-]{22}$/);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('an unknown id: exit 1, USER_NOT_FOUND; a malformed one: exit 2', async () => {
      const unknown = await cli(['export', new Types.ObjectId().toHexString()]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr.trim()).toMatch(/^error: USER_NOT_FOUND: /);
      expect(unknown.stdout).toBe('');
      const malformed = await cli(['export', 'nope']);
      expect(malformed.code).toBe(2);
      expect(malformed.stdout).toBe('');
    });
  });
});

describe("account deletion leaves nothing of the consent records and the export's rate limit counters", () => {
  const t = useTestBackend({
    AUTH_REGISTRATION: 'auto',
    CONSENT_VERSIONS: JSON.stringify({ privacy: '2024-05' }),
    RATE_LIMIT_EXPORT_PER_HOUR: '3',
    RATE_LIMIT_STORE: 'mongodb',
  });

  it('no document of any collection names the user afterwards', async () => {
    const openid = uniqueOpenId('export_deleted');
    const login = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
    const userId = login.user.id;
    const api = t.client({ token: login.accessToken });
    await api.user.recordConsent.mutate({ document: 'privacy', version: '2024-05' });
    await api.user.exportData.query();
    const db = t.backend.services.db.connection.db!;
    /** The collections with a document whose _id or content names the user. */
    const naming = async () => {
      const found: string[] = [];
      for (const { name } of await db.listCollections().toArray()) {
        for (const doc of await db.collection(name).find({}).toArray()) {
          if (JSON.stringify(doc).includes(userId)) found.push(name);
        }
      }
      return [...new Set(found)].sort();
    };
    // The scan finds what it looks for: the consent record and the export's counter are there before.
    expect(await naming()).toEqual(expect.arrayContaining(['consents', 'rate_limit_slots']));

    expect(await api.user.deleteAccount.mutate({ code: t.wxLogin(openid) })).toEqual({ status: 'deleted' });
    expect(await naming()).toEqual([]);
  });
});
