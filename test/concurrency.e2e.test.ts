import { describe, expect, it } from 'vitest';
import { expectReason } from './helpers/expectError';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';
import { createCaller, createContext } from '../server/root';

describe('auto registration', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto' });

  it('the first login creates the user, the next one finds it', async () => {
    const openid = uniqueOpenId();
    const first = await t.client().auth.login.mutate({ code: t.wxLogin(openid, { unionId: 'u-auto' }) });
    expect(first.isNewUser).toBe(true);
    expect(first.user).toMatchObject({ openId: openid, unionId: 'u-auto', status: 'active', nickName: null });
    const second = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
    expect(second.isNewUser).toBe(false);
    expect(second.user.id).toBe(first.user.id);
    expect(second.user.unionId).toBe('u-auto'); // a login without unionid keeps the stored one
  });

  it('20 simultaneous first logins of one openid create exactly one user', async () => {
    const openid = uniqueOpenId('race');
    const codes = Array.from({ length: 20 }, () => t.wxLogin(openid));
    const results = await Promise.all(codes.map((code) => t.client().auth.login.mutate({ code })));
    expect(new Set(results.map((r) => r.user.id)).size).toBe(1);
    expect(results.filter((r) => r.isNewUser)).toHaveLength(1);
    expect(await t.backend.services.db.User.countDocuments({ openId: openid })).toBe(1);
  });

  it('a returning login writes its session (and lists it for its user) and nothing else, unless the profile changed', async () => {
    const { db } = t.backend.services;
    const openid = uniqueOpenId('quiet');
    const first = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
    const stored = await db.User.findById(first.user.id).lean();
    const identity = await db.Identity.findOne({ userId: first.user.id }).lean();

    const again = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
    expect(again).toMatchObject({ isNewUser: false, user: { id: first.user.id } });
    expect(await db.User.findById(first.user.id).lean()).toEqual(stored); // lastLoginAt is kept to the minute
    expect(await db.Identity.findOne({ userId: first.user.id }).lean()).toEqual(identity);
    // Each login's session keeps that login's session_key, sealed.
    const sessions = await db.Session.find({ userId: first.user.id }).lean();
    expect(sessions).toHaveLength(2);
    for (const s of sessions) expect(s.sessionKeyEnc).toMatch(/^v1\./);
    expect(JSON.stringify(sessions)).not.toContain(t.sim.app.sessionKeyOf(openid)!);

    // A new nickname from WeChat's user info is written at once.
    const code = t.wxLogin(openid);
    const renamed = await t.client().auth.login.mutate({ code, ...t.sim.app.userInfo(openid, { nickName: 'Renamed' }) });
    expect(renamed.user.nickName).toBe('Renamed');
    expect((await db.User.findById(first.user.id).lean())!.nickName).toBe('Renamed');
  });

  it("a profile a login changes shows at once through the user's other sessions", async () => {
    const openid = uniqueOpenId('profile');
    const first = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
    const onFirst = t.client({ token: first.accessToken });
    expect((await onFirst.auth.me.query()).nickName).toBe(null); // cached for this session
    const code = t.wxLogin(openid);
    await t.client().auth.login.mutate({ code, ...t.sim.app.userInfo(openid, { nickName: 'Changed' }) });
    expect((await onFirst.auth.me.query()).nickName).toBe('Changed');
  });

  it('a banned user is refused in auto mode too', async () => {
    const openid = uniqueOpenId();
    const { user } = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
    await createCaller(createContext({ services: t.backend.services, admin: true })).admin.banUser({ id: user.id });
    await expectReason(t.client().auth.login.mutate({ code: t.wxLogin(openid) }), 'USER_BANNED', 403);
    expect(await t.backend.services.db.User.countDocuments({ openId: openid })).toBe(1);
  });
});

describe('explicit registration under concurrency', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'explicit' });

  it('20 simultaneous registrations of one openid: one succeeds, 19 get USER_EXISTS', async () => {
    const openid = uniqueOpenId('reg-race');
    const codes = Array.from({ length: 20 }, () => t.wxLogin(openid));
    const settled = await Promise.allSettled(codes.map((code) => t.client().auth.register.mutate({ code })));
    const ok = settled.filter((s) => s.status === 'fulfilled');
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed.map((f) => (f.reason as { data?: { reason?: string } }).data?.reason)).toEqual(Array(19).fill('USER_EXISTS'));
    expect(await t.backend.services.db.User.countDocuments({ openId: openid })).toBe(1);
  });

  it('20 simultaneous uses of one registration ticket: exactly one registers', async () => {
    const openid = uniqueOpenId('ticket-race');
    const err = await expectReason(t.client().auth.login.mutate({ code: t.wxLogin(openid) }), 'USER_NOT_REGISTERED');
    const ticket = err.data.registrationTicket!;
    const settled = await Promise.allSettled(Array.from({ length: 20 }, () => t.client().auth.register.mutate({ registrationTicket: ticket })));
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    expect(await t.backend.services.db.User.countDocuments({ openId: openid })).toBe(1);
  });
});

/**
 * Issue 11, item 10: a logout, logoutAll, admin revocation or ban ends a session for good, whatever
 * refresh is in flight. Each trial sends the two at once over real HTTP; afterwards nothing the
 * refresh may have returned still works.
 */
describe('ending a session while a refresh is in flight', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto' });
  const admin = () => createCaller(createContext({ services: t.backend.services, admin: true })).admin;
  const TRIALS = 100;

  /** Whatever the refresh returned is dead: its refresh token and its access token are refused. */
  async function survives(refreshed: PromiseSettledResult<{ accessToken: string; refreshToken: string }>, first: { refreshToken: string }) {
    const tokens = refreshed.status === 'fulfilled' ? [refreshed.value.refreshToken, first.refreshToken] : [first.refreshToken];
    for (const refreshToken of tokens) {
      const again = await t.client().auth.refresh.mutate({ refreshToken }).then(
        () => true,
        () => false,
      );
      if (again) return true;
    }
    if (refreshed.status === 'fulfilled') {
      const me = await t.client({ token: refreshed.value.accessToken }).auth.me.query().then(
        () => true,
        () => false,
      );
      if (me) return true;
    }
    return false;
  }

  async function trials(end: (s: { accessToken: string; user: { id: string } }) => Promise<unknown>) {
    let survived = 0;
    for (let i = 0; i < TRIALS; i++) {
      const openid = uniqueOpenId('race');
      const s = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
      const [refreshed, ended] = await Promise.allSettled([t.client().auth.refresh.mutate({ refreshToken: s.refreshToken }), end(s)]);
      expect(ended.status, String((ended as PromiseRejectedResult).reason)).toBe('fulfilled');
      if (await survives(refreshed, s)) survived++;
    }
    return survived;
  }

  it(`auth.logout against auth.refresh: the session ends in ${TRIALS} of ${TRIALS} trials`, { timeout: 180_000 }, async () => {
    expect(await trials((s) => t.client({ token: s.accessToken }).auth.logout.mutate())).toBe(0);
  });

  it(`auth.logoutAll against auth.refresh: the session ends in ${TRIALS} of ${TRIALS} trials`, { timeout: 180_000 }, async () => {
    expect(await trials((s) => t.client({ token: s.accessToken }).auth.logoutAll.mutate())).toBe(0);
  });

  it(`admin revokeSessions and banUser against auth.refresh: the session ends in ${TRIALS} of ${TRIALS} trials each`, { timeout: 360_000 }, async () => {
    expect(await trials((s) => admin().revokeSessions({ id: s.user.id }))).toBe(0);
    expect(await trials((s) => admin().banUser({ id: s.user.id }))).toBe(0);
  });

  it('an attacker refreshing a stolen token back to back does not outlive the victim’s logoutAll (20 of 20)', { timeout: 180_000 }, async () => {
    let survived = 0;
    for (let trial = 0; trial < 20; trial++) {
      const openid = uniqueOpenId('stolen');
      const victim = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
      let loggedOut = false;
      let current = { refreshToken: victim.refreshToken, accessToken: victim.accessToken };
      let refreshedAfterLogout = 0;
      const attacker = (async () => {
        // Refresh back to back until refused; a refresh that starts after logoutAll answered must fail.
        for (let n = 0; n < 200; n++) {
          const startedAfterLogout = loggedOut;
          try {
            current = await t.client().auth.refresh.mutate({ refreshToken: current.refreshToken });
            if (startedAfterLogout) refreshedAfterLogout++;
          } catch {
            return;
          }
        }
      })();
      await new Promise((r) => setTimeout(r, 5 + (trial % 5) * 3));
      await t.client({ token: victim.accessToken }).auth.logoutAll.mutate();
      loggedOut = true;
      await attacker;
      const meStillWorks = await t.client({ token: current.accessToken }).auth.me.query().then(
        () => true,
        () => false,
      );
      if (refreshedAfterLogout > 0 || meStillWorks) survived++;
    }
    expect(survived).toBe(0);
  });
});
