import { execFile } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import jwt from 'jsonwebtoken';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deleteExpiredRegistrationTickets } from '../server/services/registrationTickets';
import { deleteExpiredSessions } from '../server/services/sessions';
import { newRefreshToken } from '../server/tokens/refreshToken';
import { expectReason } from './helpers/expectError';
import { startTestBackend, uniqueOpenId, useTestBackend, type TestBackend } from './helpers/testBackend';

const SECRET_1 = 'first-jwt-secret-0123456789abcdefghijklmnop';
const SECRET_2 = 'second-jwt-secret-0123456789abcdefghijklmnop';
const KEY_1 = { kid: 'k1', alg: 'HS256', secret: SECRET_1 };
const KEY_2 = { kid: 'k2', alg: 'HS256', secret: SECRET_2 };

/** A clock the test moves forward. */
function movableClock() {
  let offsetMs = 0;
  return { now: () => new Date(Date.now() + offsetMs), advance: (ms: number) => (offsetMs += ms) };
}

async function signUp(t: TestBackend, openid = uniqueOpenId('s')) {
  const login = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
  return { openid, ...login };
}

describe('access tokens are refused with a reason', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto', JWT_KEYS: JSON.stringify([KEY_1]) });

  const me = (token: string) => t.client({ token }).auth.me.query();
  const claims = (token: string) => jwt.decode(token) as { sub: string; sid: string };

  it('no token, not Bearer, garbage', async () => {
    await expectReason(t.client().auth.me.query(), 'TOKEN_MISSING', 401);
    await expectReason(me('garbage'), 'TOKEN_INVALID', 401);
    const res = await t.fetch('/trpc/auth.me', { headers: { authorization: 'Basic abc' } });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('TOKEN_INVALID');
  });

  it('expired → TOKEN_EXPIRED', async () => {
    const { accessToken } = await signUp(t);
    const { sub, sid } = claims(accessToken);
    await expectReason(me(t.signToken({ sid, exp: Math.floor(Date.now() / 1000) - 10 }, { subject: sub })), 'TOKEN_EXPIRED', 401);
  });

  it('tampered payload → TOKEN_INVALID', async () => {
    const { accessToken } = await signUp(t);
    const other = await signUp(t);
    const [h, , s] = accessToken.split('.');
    const forged = `${h}.${other.accessToken.split('.')[1]}.${s}`;
    await expectReason(me(forged), 'TOKEN_INVALID', 401);
  });

  it('alg none, wrong algorithm, wrong issuer or audience, unknown kid, another key → TOKEN_INVALID', async () => {
    const { accessToken } = await signUp(t);
    const { sub, sid } = claims(accessToken);
    const base = { subject: sub, issuer: 'wx-login-backend', audience: 'miniprogram', expiresIn: 60 } as const;
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const tokens = [
      jwt.sign({ sid }, '', { ...base, algorithm: 'none', keyid: 'k1' }),
      jwt.sign({ sid }, SECRET_1, { ...base, algorithm: 'HS512', keyid: 'k1' }),
      jwt.sign({ sid }, privateKey, { ...base, algorithm: 'RS256', keyid: 'k1' }),
      jwt.sign({ sid }, SECRET_1, { ...base, keyid: 'k1', issuer: 'evil' }),
      jwt.sign({ sid }, SECRET_1, { ...base, keyid: 'k1', audience: 'web' }),
      jwt.sign({ sid }, SECRET_1, { ...base, keyid: 'k9' }),
      jwt.sign({ sid }, SECRET_1, { ...base }), // no kid at all
      jwt.sign({ sid }, SECRET_2, { ...base, keyid: 'k1' }),
      jwt.sign({}, SECRET_1, { ...base, keyid: 'k1' }), // no session
    ];
    for (const token of tokens) await expectReason(me(token), 'TOKEN_INVALID', 401);
  });

  it('the token of a deleted user → USER_NOT_FOUND', async () => {
    const { accessToken, user } = await signUp(t);
    await t.backend.services.db.User.deleteOne({ _id: user.id });
    t.backend.services.auth.users.forget(user.id); // deleted behind the user store's back
    await expectReason(me(accessToken), 'USER_NOT_FOUND', 401);
  });
});

describe('refresh tokens', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto' });

  it('login returns a refresh token naming its session and a 256-bit secret, stored only as a hash', async () => {
    const refsBefore = await t.backend.services.db.SessionRef.countDocuments({});
    const { refreshToken, refreshExpiresIn, user, accessToken } = await signUp(t);
    // The session's id starts with its user's: one document per login, nothing else written for it.
    expect(refreshToken).toMatch(new RegExp(`^wxr_${user.id}:[\\w-]{22}\\.[\\w-]{43}$`));
    expect(await t.backend.services.db.SessionRef.countDocuments({})).toBe(refsBefore);
    expect(refreshExpiresIn).toBe(30 * 86_400);
    const stored = await t.backend.services.db.Session.find({ userId: user.id }).lean();
    expect(stored).toHaveLength(1);
    // The session's id is the access token's sid and the first part of the refresh token.
    expect(stored[0]!._id).toBe((jwt.decode(accessToken) as { sid: string }).sid);
    expect(refreshToken.startsWith(`wxr_${stored[0]!._id}.`)).toBe(true);
    expect(JSON.stringify(stored)).not.toContain(refreshToken.split('.')[1]!);
    expect(stored[0]!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refreshing updates the one session document: storage grows per login, not per refresh', async () => {
    const s = await signUp(t);
    let token = s.refreshToken;
    for (let i = 0; i < 5; i++) token = (await t.client().auth.refresh.mutate({ refreshToken: token })).refreshToken;
    const stored = await t.backend.services.db.Session.find({ userId: s.user.id }).lean();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ generation: 5, revokedAt: null });
  });

  it('a token naming another session, or a made-up session, is refused and changes nothing', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const [aSession, aSecret] = a.refreshToken.slice(4).split('.');
    const [bSession] = b.refreshToken.slice(4).split('.');
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: `wxr_${bSession}.${aSecret}` }), 'REFRESH_TOKEN_INVALID', 401);
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: `wxr_${'A'.repeat(22)}.${aSecret}` }), 'REFRESH_TOKEN_INVALID', 401);
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: `wxr_${aSession}.${'B'.repeat(43)}` }), 'REFRESH_TOKEN_INVALID', 401);
    // Both sessions still work.
    await t.client().auth.refresh.mutate({ refreshToken: a.refreshToken });
    await t.client().auth.refresh.mutate({ refreshToken: b.refreshToken });
  });

  it('refresh rotates: a new pair each time, the same session', async () => {
    const first = await signUp(t);
    const second = await t.client().auth.refresh.mutate({ refreshToken: first.refreshToken });
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((jwt.decode(second.accessToken) as { sid: string }).sid).toBe((jwt.decode(first.accessToken) as { sid: string }).sid);
    const third = await t.client().auth.refresh.mutate({ refreshToken: second.refreshToken });
    expect((await t.client({ token: third.accessToken }).auth.me.query()).id).toBe(first.user.id);
  });

  it('reusing a rotated token revokes the whole family', async () => {
    const first = await signUp(t);
    const other = await signUp(t, first.openid); // another device of the same user
    const second = await t.client().auth.refresh.mutate({ refreshToken: first.refreshToken });

    // The stolen copy of the first token comes back.
    const err = await expectReason(t.client().auth.refresh.mutate({ refreshToken: first.refreshToken }), 'REFRESH_TOKEN_REUSED', 401);
    expect(err.message).toMatch(/revoked/);
    // The legitimate holder's newer token and access token are dead too.
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: second.refreshToken }), 'REFRESH_TOKEN_INVALID', 401);
    await expectReason(t.client({ token: second.accessToken }).auth.me.query(), 'SESSION_REVOKED', 401);
    // The other device's session is untouched.
    expect((await t.client({ token: other.accessToken }).auth.me.query()).id).toBe(first.user.id);
    await t.client().auth.refresh.mutate({ refreshToken: other.refreshToken });
  });

  it('a rotated token shown again after its session already ended for reuse is still a reuse', async () => {
    // What a late copy among several sent at once sees.
    const first = await signUp(t);
    await t.client().auth.refresh.mutate({ refreshToken: first.refreshToken });
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: first.refreshToken }), 'REFRESH_TOKEN_REUSED', 401);
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: first.refreshToken }), 'REFRESH_TOKEN_REUSED', 401);
  });

  it('an unknown refresh token is refused and changes nothing', async () => {
    const before = await t.backend.services.db.Session.countDocuments({ revokedAt: null });
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: 'wxr_' + 'A'.repeat(43) }), 'REFRESH_TOKEN_INVALID', 401);
    expect(await t.backend.services.db.Session.countDocuments({ revokedAt: null })).toBe(before);
  });

  it('logout ends this session only; logoutAll ends every session', async () => {
    const a = await signUp(t);
    const b = await signUp(t, a.openid);
    const c = await signUp(t, a.openid);
    expect(await t.client({ token: a.accessToken }).auth.logout.mutate()).toEqual({ ok: true });
    await expectReason(t.client({ token: a.accessToken }).auth.me.query(), 'SESSION_REVOKED', 401);
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: a.refreshToken }), 'REFRESH_TOKEN_INVALID', 401);
    await t.client({ token: b.accessToken }).auth.me.query();

    expect(await t.client({ token: b.accessToken }).auth.logoutAll.mutate()).toEqual({ revokedSessions: 2 });
    for (const s of [b, c]) {
      await expectReason(t.client({ token: s.accessToken }).auth.me.query(), 'SESSION_REVOKED', 401);
      await expectReason(t.client().auth.refresh.mutate({ refreshToken: s.refreshToken }), 'REFRESH_TOKEN_INVALID', 401);
    }
  });

  it('user.sessions lists the live sessions, marking the current one', async () => {
    const a = await signUp(t);
    const b = await signUp(t, a.openid);
    const list = await t.client({ token: b.accessToken }).user.sessions.query();
    expect(list).toHaveLength(2);
    expect(list.filter((s) => s.current)).toHaveLength(1);
    expect(list.find((s) => s.current)!.id).toBe((jwt.decode(b.accessToken) as { sid: string }).sid);
    expect(list[0]).toMatchObject({ ip: '127.0.0.1', userAgent: expect.any(String) });
    expect(list[0]!.createdAt).toBeInstanceOf(Date);
    expect(JSON.stringify(list)).not.toMatch(/tokenHash|wxr_/);
  });
});

describe('bans and deletions take effect', () => {
  let t: TestBackend;
  beforeAll(async () => {
    t = await startTestBackend({ AUTH_REGISTRATION: 'auto', AUTH_CACHE_TTL_S: '1' });
  });
  afterAll(() => t.stop());

  it('a ban made elsewhere: refresh and login fail at once, the access token within the cache bound', async () => {
    const s = await signUp(t);
    await t.client({ token: s.accessToken }).auth.me.query(); // cached as active
    // Another instance (or an operator) bans the user straight in the database.
    await t.backend.services.db.User.updateOne({ _id: s.user.id }, { $set: { status: 'banned' } });
    await expectReason(t.client().auth.login.mutate({ code: t.wxLogin(s.openid) }), 'USER_BANNED', 403);
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: s.refreshToken }), 'USER_BANNED', 403);
    await new Promise((r) => setTimeout(r, 1100)); // AUTH_CACHE_TTL_S=1
    await expectReason(t.client({ token: s.accessToken }).auth.me.query(), 'USER_BANNED', 403);
    // And the refresh ended the user's sessions.
    expect(await t.backend.services.db.Session.countDocuments({ userId: s.user.id, revokedAt: null })).toBe(0);
  });

  it('a deleted user: refresh fails at once, the access token within the bound', async () => {
    const s = await signUp(t);
    await t.client({ token: s.accessToken }).auth.me.query();
    await t.backend.services.db.User.deleteOne({ _id: s.user.id });
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: s.refreshToken }), 'USER_NOT_FOUND', 401);
    await new Promise((r) => setTimeout(r, 1100));
    await expectReason(t.client({ token: s.accessToken }).auth.me.query(), 'USER_NOT_FOUND', 401);
    // Their next login starts over as a new user (the old identity is let go).
    const again = await t.client().auth.login.mutate({ code: t.wxLogin(s.openid) });
    expect(again).toMatchObject({ isNewUser: true });
    expect(again.user.id).not.toBe(s.user.id);
  });
});

describe('a ban made by another process', () => {
  // The default cache bound (30 s): the ban must not wait for it at login.
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto' });
  const ROOT = resolve(import.meta.dirname, '..');
  /** scripts/admin.ts as a real process on this backend's database. */
  const adminCli = (args: string[]) => {
    const { WECHAT_APP_ID: _app, WECHAT_APPS: _apps, ...base } = process.env;
    const env = { ...base, NODE_ENV: 'test', MONGODB_URI: `${inject('mongodbUri').replace(/\/?$/, '/')}${t.dbName}` };
    return new Promise<number>((done) => {
      execFile(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'scripts/admin.ts'), ...args], { cwd: ROOT, env, timeout: 60_000 }, (err) =>
        done(err ? (typeof err.code === 'number' ? err.code : -1) : 0),
      );
    });
  };

  it('scripts/admin.ts ban: the next login is refused at once, and so is a refresh', async () => {
    const s = await signUp(t);
    // Everything this instance could cache about the user: a login, an authenticated call.
    await t.client().auth.login.mutate({ code: t.wxLogin(s.openid) });
    await t.client({ token: s.accessToken }).auth.me.query();

    expect(await adminCli(['ban', s.user.id])).toBe(0);
    await expectReason(t.client().auth.login.mutate({ code: t.wxLogin(s.openid) }), 'USER_BANNED', 403);
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: s.refreshToken }), 'REFRESH_TOKEN_INVALID', 401);

    // Lifted the same way: the next login gets in at once.
    expect(await adminCli(['unban', s.user.id])).toBe(0);
    expect((await t.client().auth.login.mutate({ code: t.wxLogin(s.openid) })).user.id).toBe(s.user.id);
  });
});

describe('sessions stored in the old shape (one document per refresh token)', () => {
  it('are migrated at start: live tokens and their access tokens keep working, ended ones stay ended', async () => {
    const env = { AUTH_REGISTRATION: 'auto', JWT_KEYS: JSON.stringify([KEY_1]) };
    const before = await startTestBackend(env);
    const s = await signUp(before);
    const appId = before.backend.wechatApps[0]!.appId;
    // What the old code left: a unique index on tokenHash, and per family every token it rotated.
    const raw = before.backend.services.db.Session.collection;
    await raw.createIndex({ tokenHash: 1 }, { unique: true });
    const oldToken = () => `wxr_${randomBytes(32).toString('base64url')}`;
    const hash = (token: string) => createHash('sha256').update(token).digest('hex');
    const [rotated, live, loggedOut] = [oldToken(), oldToken(), oldToken()];
    const day = 86_400_000;
    const old = (token: string, familyId: string, revoked: string | null) => ({
      _id: new Types.ObjectId(),
      tokenHash: hash(token),
      familyId,
      userId: new Types.ObjectId(s.user.id),
      appId,
      openId: s.openid,
      familyCreatedAt: new Date(Date.now() - day),
      lastUsedAt: new Date(),
      expiresAt: new Date(Date.now() + 29 * day),
      userAgent: 'old-phone',
      ip: '127.0.0.1',
      revokedAt: revoked ? new Date() : null,
      revokedReason: revoked,
      sessionKeyEnc: 'v1.sealed-by-the-old-login',
      createdAt: new Date(),
    });
    await raw.insertMany([old(rotated, 'family-one-xxxxxxxxxxx', 'rotated'), old(live, 'family-one-xxxxxxxxxxx', null), old(loggedOut, 'family-two-xxxxxxxxxxx', 'logout')]);
    await before.stop();

    const after = await startTestBackend(env, { dbName: before.dbName });
    try {
      const db = after.backend.services.db;
      expect(await db.Session.countDocuments({ familyId: { $exists: true } })).toBe(0);
      expect(await db.Session.findById('family-one-xxxxxxxxxxx').lean()).toMatchObject({ generation: 0, sessionKeyEnc: 'v1.sealed-by-the-old-login', revokedAt: null });
      expect(await db.Session.findById('family-two-xxxxxxxxxxx').lean()).toBeNull();

      // An access token issued before the migration names the family: it is the session now.
      const issuedBefore = after.signToken({ sid: 'family-one-xxxxxxxxxxx', app: appId, oid: s.openid }, { subject: s.user.id, expiresIn: 600 });
      expect((await after.client({ token: issuedBefore }).auth.me.query()).id).toBe(s.user.id);
      // The live token refreshes once, into a token of the current shape.
      const next = await after.client().auth.refresh.mutate({ refreshToken: live });
      expect(next.refreshToken).toMatch(/^wxr_family-one-xxxxxxxxxxx\.[\w-]{43}$/);
      await after.client().auth.refresh.mutate({ refreshToken: next.refreshToken });
      // Ended and rotated tokens stay refused; the old live token shown again is a reuse.
      await expectReason(after.client().auth.refresh.mutate({ refreshToken: loggedOut }), 'REFRESH_TOKEN_INVALID', 401);
      await expectReason(after.client().auth.refresh.mutate({ refreshToken: rotated }), 'REFRESH_TOKEN_INVALID', 401);
      const first = await signUp(after, s.openid);
      // A second start finds nothing left to migrate and changes nothing.
      const again = await startTestBackend(env, { dbName: before.dbName });
      await again.stop();
      expect((await after.client().auth.refresh.mutate({ refreshToken: first.refreshToken })).refreshToken).toMatch(/^wxr_/);
    } finally {
      await after.stop();
    }
  });
});

describe('sessions whose id does not name their user (started before ids did)', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto', JWT_KEYS: JSON.stringify([KEY_1]) });

  it('are listed by their reference and keep working: refresh, user.sessions, logoutAll', async () => {
    const s = await signUp(t);
    const db = t.backend.services.db;
    // What such a login left: the session under a 22-character id, and a reference to it.
    const current = await db.Session.findOne({ userId: s.user.id }).lean();
    const oldId = randomBytes(16).toString('base64url');
    const old = newRefreshToken(oldId);
    await db.Session.collection.insertOne({ ...current!, _id: oldId, tokenHash: old.secretHash } as never);
    await db.Session.deleteOne({ _id: current!._id });
    await db.SessionRef.create({ _id: `${s.user.id}:${oldId}`, appId: current!.appId, createdAt: current!.createdAt, endsAt: current!.endsAt });

    const next = await t.client().auth.refresh.mutate({ refreshToken: old.token });
    expect(next.refreshToken.startsWith(`wxr_${oldId}.`)).toBe(true);
    expect((jwt.decode(next.accessToken) as { sid: string }).sid).toBe(oldId);
    const mine = await t.client({ token: next.accessToken }).user.sessions.query({});
    expect(mine.map((x) => [x.id, x.current])).toEqual([[oldId, true]]);
    expect(await t.client({ token: next.accessToken }).auth.logoutAll.mutate()).toEqual({ revokedSessions: 1 });
    expect((await db.Session.findById(oldId).lean())!.revokedReason).toBe('logout_all');
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: next.refreshToken }), 'REFRESH_TOKEN_INVALID', 401);
  });
});

describe("users' session lists of the earlier shape (one user_sessions document per user)", () => {
  it('become session references at start: user.sessions and logoutAll reach those sessions, and the collection goes', async () => {
    const env = { AUTH_REGISTRATION: 'auto', JWT_KEYS: JSON.stringify([KEY_1]) };
    const before = await startTestBackend(env);
    const s = await signUp(before);
    const sessionId = (jwt.decode(s.accessToken) as { sid: string }).sid;
    const appId = before.backend.wechatApps[0]!.appId;
    const db = before.backend.services.db;
    // What that shape left: the session itself, listed only in the user's user_sessions document.
    const listedOnly = await db.Session.findById(sessionId).lean();
    await db.SessionRef.deleteMany({});
    const endsAt = listedOnly!.endsAt;
    await db.connection.collection('user_sessions').insertOne({
      _id: new Types.ObjectId(s.user.id) as never,
      sessions: [
        { id: sessionId, appId, createdAt: listedOnly!.createdAt, endsAt },
        { id: 'long-gone-xxxxxxxxxxxx', appId, createdAt: new Date(Date.now() - 90 * 86_400_000), endsAt: new Date(Date.now() - 1000) },
      ],
    });
    await before.stop();

    const after = await startTestBackend(env, { dbName: before.dbName });
    try {
      const migrated = after.backend.services.db;
      expect((await migrated.connection.db!.listCollections({ name: 'user_sessions' }).toArray()).length).toBe(0);
      expect((await migrated.SessionRef.find({}).lean()).map((r) => r._id)).toEqual([`${s.user.id}:${sessionId}`]);
      const mine = await after.client({ token: s.accessToken }).user.sessions.query({});
      expect(mine.map((x) => x.id)).toEqual([sessionId]);
      await after.client({ token: s.accessToken }).auth.logoutAll.mutate();
      expect((await migrated.Session.findById(sessionId).lean())!.revokedReason).toBe('logout_all');
    } finally {
      await after.stop();
    }
  });
});

describe('keys rotate without logging anyone out', () => {
  it('a token signed with the old key still works after the new key signs', async () => {
    const before = await startTestBackend({ AUTH_REGISTRATION: 'auto', JWT_KEYS: JSON.stringify([KEY_1]) });
    const after = await startTestBackend({ JWT_KEYS: JSON.stringify([KEY_2, KEY_1]) }, { dbName: before.dbName });
    const retired = await startTestBackend({ JWT_KEYS: JSON.stringify([KEY_2]) }, { dbName: before.dbName });
    try {
      const s = await signUp(before);
      expect(jwt.decode(s.accessToken, { complete: true })!.header.kid).toBe('k1');
      expect((await after.client({ token: s.accessToken }).auth.me.query()).id).toBe(s.user.id);

      const refreshed = await after.client().auth.refresh.mutate({ refreshToken: s.refreshToken });
      expect(jwt.decode(refreshed.accessToken, { complete: true })!.header.kid).toBe('k2');
      expect((await after.client({ token: refreshed.accessToken }).auth.me.query()).id).toBe(s.user.id);

      // Once k1 is dropped, its tokens are refused as of an unknown key.
      const err = await expectReason(retired.client({ token: s.accessToken }).auth.me.query(), 'TOKEN_INVALID', 401);
      expect(err.message).toMatch(/unknown key id/);
    } finally {
      await Promise.all([before.stop(), after.stop(), retired.stop()]);
    }
  });

  it('with an ES256 key, another service verifies tokens with the published public key alone', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const t = await startTestBackend({ AUTH_REGISTRATION: 'auto', JWT_KEYS: JSON.stringify([{ kid: 'ec1', alg: 'ES256', privateKey: pem }]) });
    try {
      const s = await signUp(t);
      const jwks = (await (await t.fetch('/.well-known/jwks.json')).json()) as { keys: (Record<string, unknown> & { kid: string })[] };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).not.toHaveProperty('d');
      const publicKey = createPublicKey({ key: jwks.keys[0]! as never, format: 'jwk' });
      const verified = jwt.verify(s.accessToken, publicKey, { algorithms: ['ES256'], audience: 'miniprogram', issuer: 'wx-login-backend' }) as { sub: string };
      expect(verified.sub).toBe(s.user.id);
      expect((await t.client({ token: s.accessToken }).auth.me.query()).id).toBe(s.user.id);
    } finally {
      await t.stop();
    }
  });
});

describe('rate limits', () => {
  it('per client IP: TOO_MANY_REQUESTS with retry-after, then recovery', async () => {
    const clock = movableClock();
    const t = await startTestBackend({ AUTH_REGISTRATION: 'auto', RATE_LIMIT_IP_PER_MIN: '5' }, { now: clock.now });
    try {
      for (let i = 0; i < 5; i++) await signUp(t);
      const err = await expectReason(signUp(t), 'RATE_LIMITED', 429);
      expect(err.data.retryAfterS).toBeGreaterThan(0);
      expect(err.data.retryAfterS).toBeLessThanOrEqual(60);
      const raw = await t.fetch('/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"json":{"code":"x"}}' });
      expect(raw.status).toBe(429);
      expect(Number(raw.headers.get('retry-after'))).toBeGreaterThan(0);
      // Other procedures are not limited.
      expect(await t.client().ping.query()).toBe('pong');

      clock.advance(61_000);
      await signUp(t);
    } finally {
      await t.stop();
    }
  });

  it('per openid: one user cannot hammer, another still gets in', async () => {
    const t = await startTestBackend({ AUTH_REGISTRATION: 'auto', RATE_LIMIT_OPENID_PER_MIN: '3' });
    try {
      const openid = uniqueOpenId('hammer');
      for (let i = 0; i < 3; i++) await signUp(t, openid);
      await expectReason(signUp(t, openid), 'RATE_LIMITED', 429);
      await signUp(t);
    } finally {
      await t.stop();
    }
  });
});

describe('expiry without TTL indexes', () => {
  it('expired refresh tokens and registration tickets are refused by query and removed by the cleanup', async () => {
    const clock = movableClock();
    const t = await startTestBackend({ AUTH_REGISTRATION: 'explicit', REFRESH_TOKEN_TTL_S: '3600' }, { now: clock.now });
    try {
      const openid = uniqueOpenId('exp');
      const notRegistered = await expectReason(t.client().auth.login.mutate({ code: t.wxLogin(openid) }), 'USER_NOT_REGISTERED');
      const reg = await t.client().auth.register.mutate({ code: t.wxLogin(openid) });
      const db = t.backend.services.db;
      expect(await db.RegistrationTicket.countDocuments()).toBe(1);

      clock.advance(3601_000);
      await expectReason(t.client().auth.refresh.mutate({ refreshToken: reg.refreshToken }), 'REFRESH_TOKEN_EXPIRED', 401);
      await expectReason(
        t.client().auth.register.mutate({ registrationTicket: notRegistered.data.registrationTicket! }),
        'REGISTRATION_TICKET_INVALID',
        401,
      );

      const deps = { db, now: clock.now };
      expect(await deleteExpiredSessions(deps)).toBe(1);
      expect(await deleteExpiredRegistrationTickets(deps)).toBe(1);
      expect(await db.Session.countDocuments()).toBe(0);
      expect(await db.RegistrationTicket.countDocuments()).toBe(0);
    } finally {
      await t.stop();
    }
  });

  it('rotation never extends a session past SESSION_MAX_AGE_S', async () => {
    const clock = movableClock();
    const t = await startTestBackend({ AUTH_REGISTRATION: 'auto', REFRESH_TOKEN_TTL_S: '3600', SESSION_MAX_AGE_S: '5400' }, { now: clock.now });
    try {
      const s = await signUp(t);
      clock.advance(3000_000);
      const r = await t.client().auth.refresh.mutate({ refreshToken: s.refreshToken });
      // 5400 - 3000 = 2400 (less the milliseconds the calls took), not a fresh 3600.
      expect(r.refreshExpiresIn).toBeGreaterThanOrEqual(2395);
      expect(r.refreshExpiresIn).toBeLessThanOrEqual(2400);
    } finally {
      await t.stop();
    }
  });
});

describe('simultaneous uses of one refresh token', () => {
  it('at most one rotates; the others count as reuse, and the whole session ends revoked', async () => {
    const t = await startTestBackend({ AUTH_REGISTRATION: 'auto' });
    try {
      const s = await signUp(t);
      const settled = await Promise.allSettled(Array.from({ length: 10 }, () => t.client().auth.refresh.mutate({ refreshToken: s.refreshToken })));
      const won = settled.filter((r) => r.status === 'fulfilled');
      expect(won.length).toBeLessThanOrEqual(1);
      const reasons = settled.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { data?: { reason?: string } }).data?.reason] : []));
      expect(new Set(reasons)).toEqual(new Set(['REFRESH_TOKEN_REUSED']));
      // Only one new token was ever issued, and the reuse revoked the family it belongs to.
      expect(await t.backend.services.db.Session.countDocuments({ userId: s.user.id })).toBeLessThanOrEqual(2);
      expect(await t.backend.services.db.Session.countDocuments({ userId: s.user.id, revokedAt: null })).toBe(0);
    } finally {
      await t.stop();
    }
  });
});
