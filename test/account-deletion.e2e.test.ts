import { randomBytes } from 'node:crypto';
import { createTRPCClient, httpLink } from '@trpc/client';
import mongoose from 'mongoose';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import type { AppRouter } from '../server/root';
import { accountDeletionModel } from '../server/db/models/accountDeletion';
import { expectReason } from './helpers/expectError';
import { uniqueOpenId, useTestBackend, type TestBackend } from './helpers/testBackend';

// A valid 1x1 PNG, byte for byte: its bytes must not survive the deletion (GridFS chunks).
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const DAY_MS = 86_400_000;

/** A client that says which address it calls from (TRUST_PROXY=true): the IP its sessions record. */
function clientFrom(t: TestBackend, ip: string, token?: string, appId?: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${t.url}/trpc`,
        transformer: superjson,
        headers: () => ({ 'x-forwarded-for': ip, ...(token ? { authorization: `Bearer ${token}` } : {}), ...(appId ? { 'x-wx-appid': appId } : {}) }),
      }),
    ],
  });
}

/** Every document of every collection of the test's database, as extended JSON (binary as base64). */
async function everyDocument(t: TestBackend): Promise<{ collection: string; text: string }[]> {
  const db = t.backend.services.db.connection.db!;
  const out: { collection: string; text: string }[] = [];
  for (const { name } of await db.listCollections().toArray()) {
    for (const doc of await db.collection(name).find({}).toArray()) out.push({ collection: name, text: mongoose.mongo.BSON.EJSON.stringify(doc) });
  }
  return out;
}

const holding = (docs: { collection: string; text: string }[], value: string) => docs.filter((d) => d.text.includes(value)).map((d) => d.collection);

describe('user.deleteAccount at once (ACCOUNT_DELETION_DELAY_DAYS=0)', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto', TRUST_PROXY: 'true' }, { simulatorApps: 2 });

  /** A user with data everywhere: two apps (linked by unionId), two sessions, a phone, an avatar, a note. */
  async function richUser(label: string) {
    const [app1, app2] = t.backend.wechatApps.map((a) => a.appId) as [string, string];
    const openId = uniqueOpenId(label);
    const otherAppOpenId = uniqueOpenId(`${label}2`);
    const unionId = `u_${randomBytes(6).toString('hex')}`;
    const ip = `203.0.113.${1 + (randomBytes(1)[0]! % 250)}`;
    const phone = { purePhoneNumber: `139${String(randomBytes(3).readUIntBE(0, 3) % 1e8).padStart(8, '0')}`, countryCode: '86' };
    const login = await clientFrom(t, ip, undefined, app1).auth.login.mutate({ code: t.wxLogin(openId, { unionId, appId: app1 }) });
    const other = await clientFrom(t, ip, undefined, app2).auth.login.mutate({ code: t.wxLogin(otherAppOpenId, { unionId, appId: app2 }) });
    expect(other.user.id).toBe(login.user.id);
    const api = clientFrom(t, ip, login.accessToken, app1);
    await api.user.bindPhone.mutate({ code: t.sim.appFor(app1).phoneCode(openId, phone) });
    await api.notes.create.mutate({ text: `note of ${label}` });
    // Bytes of this user's own (trailing bytes after the PNG's end are still a PNG).
    const avatar = Buffer.concat([PNG, randomBytes(16)]);
    const form = new FormData();
    form.append('file', new Blob([avatar], { type: 'image/png' }), 'a.png');
    const upload = await t.fetch('/avatar', { method: 'POST', body: form, headers: { authorization: `Bearer ${login.accessToken}`, 'x-wx-appid': app1 } });
    expect(upload.status).toBe(200);
    return { app1, app2, openId, otherAppOpenId, unionId, ip, phone, avatar: avatar.toString('base64'), login, other, api };
  }

  it('leaves nothing of the user in any collection, refuses their tokens at once, and the same WeChat user comes back as a new user', async () => {
    const gone = await richUser('gone');
    const kept = await richUser('kept');
    const userId = gone.login.user.id;
    const before = await everyDocument(t);
    // The scan finds what it looks for: everything is there before.
    for (const value of [gone.openId, gone.otherAppOpenId, gone.unionId, gone.phone.purePhoneNumber, gone.ip, userId]) {
      expect(holding(before, value).length, value).toBeGreaterThan(0);
    }
    expect(holding(before, gone.avatar)).toEqual(['avatars.chunks']);
    expect(holding(before, `note of gone`)).toEqual(['notes']);

    const answer = await gone.api.user.deleteAccount.mutate({ code: t.wxLogin(gone.openId, { appId: gone.app1 }) });
    expect(answer).toEqual({ status: 'deleted' });

    // Every token of the user is refused at once: access tokens of both apps, refresh tokens.
    await expectReason(gone.api.auth.me.query(), 'USER_NOT_FOUND', 401);
    await expectReason(clientFrom(t, gone.ip, gone.other.accessToken, gone.app2).auth.me.query(), 'USER_NOT_FOUND', 401);
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: gone.login.refreshToken }), 'REFRESH_TOKEN_INVALID', 401);
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: gone.other.refreshToken }), 'REFRESH_TOKEN_INVALID', 401);

    const after = await everyDocument(t);
    for (const value of [gone.openId, gone.otherAppOpenId, gone.unionId, gone.phone.purePhoneNumber, gone.ip, userId, gone.avatar, 'note of gone']) {
      expect(holding(after, value), value).toEqual([]);
    }
    expect(await t.backend.services.db.connection.db!.collection('avatars.files').countDocuments({ 'metadata.userId': userId })).toBe(0);
    expect(await accountDeletionModel(t.backend.services.db.connection).countDocuments({})).toBe(0);
    // The other user keeps everything, avatar bytes included.
    for (const value of [kept.openId, kept.otherAppOpenId, kept.unionId, kept.phone.purePhoneNumber, kept.login.user.id, kept.avatar, 'note of kept']) {
      expect(holding(after, value).length, value).toBeGreaterThan(0);
    }
    expect((await kept.api.auth.me.query()).id).toBe(kept.login.user.id);

    // The same WeChat user logging in again is a new user, with a new id.
    const again = await t.client({ appId: gone.app1 }).auth.login.mutate({ code: t.wxLogin(gone.openId, { appId: gone.app1 }) });
    expect(again.isNewUser).toBe(true);
    expect(again.user.id).not.toBe(userId);
    expect(again.user.phone).toBeNull();
  });

  it('refuses the wx.login code of another user, and deletes nothing', async () => {
    const victim = await richUser('victim');
    const stranger = uniqueOpenId('stranger');
    await expectReason(victim.api.user.deleteAccount.mutate({ code: t.wxLogin(stranger, { appId: victim.app1 }) }), 'LOGIN_PROOF_MISMATCH', 403);
    // The same person's code from their other app is not this token's identity either.
    await expectReason(
      victim.api.user.deleteAccount.mutate({ code: t.wxLogin(victim.otherAppOpenId, { appId: victim.app2 }) }),
      'WECHAT_CODE_INVALID',
    );
    // An access token alone is not enough.
    await expectReason(victim.api.user.deleteAccount.mutate({}), 'INVALID_INPUT', 400);
    expect((await victim.api.auth.me.query()).id).toBe(victim.login.user.id);
    expect(await accountDeletionModel(t.backend.services.db.connection).countDocuments({})).toBe(0);
    expect(await t.backend.services.db.User.countDocuments({ _id: victim.login.user.id })).toBe(1);
  });
});

describe('the cooling-off period (ACCOUNT_DELETION_DELAY_DAYS=7), on a clock the test moves', () => {
  let offsetMs = 0;
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto', ACCOUNT_DELETION_DELAY_DAYS: '7' }, { now: () => new Date(Date.now() + offsetMs) });

  it('schedules, refuses login with the time, cancels, and runs the deletion when the period has passed', async () => {
    const openId = uniqueOpenId('cooling');
    const login = await t.client().auth.login.mutate({ code: t.wxLogin(openId) });
    const api = t.client({ token: login.accessToken });
    await api.notes.create.mutate({ text: 'kept while pending' });

    const scheduled = await api.user.deleteAccount.mutate({ code: t.wxLogin(openId) });
    expect(scheduled.status).toBe('scheduled');
    const scheduledFor = scheduled.status === 'scheduled' ? scheduled.scheduledFor : new Date(0);
    expect(Math.abs(scheduledFor.getTime() - (Date.now() + 7 * DAY_MS))).toBeLessThan(60_000);

    // Pending: every session ended at once; login and register answer the reason and the time.
    await expectReason(api.auth.me.query(), 'SESSION_REVOKED', 401);
    await expectReason(t.client().auth.refresh.mutate({ refreshToken: login.refreshToken }), 'REFRESH_TOKEN_INVALID');
    const refused = await expectReason(t.client().auth.login.mutate({ code: t.wxLogin(openId) }), 'ACCOUNT_DELETION_PENDING', 403);
    expect(refused.data.scheduledFor).toBe(scheduledFor.toISOString());
    await expectReason(t.client().auth.register.mutate({ code: t.wxLogin(openId) }), 'ACCOUNT_DELETION_PENDING', 403);

    // Cancelled with a wx.login code: login works again, as the same user with their data.
    await expectReason(t.client().user.cancelDeletion.mutate({ code: t.wxLogin(uniqueOpenId('nobody')) }), 'NO_DELETION_PENDING', 409);
    expect(await t.client().user.cancelDeletion.mutate({ code: t.wxLogin(openId) })).toEqual({ status: 'cancelled' });
    await expectReason(t.client().user.cancelDeletion.mutate({ code: t.wxLogin(openId) }), 'NO_DELETION_PENDING', 409);
    const back = await t.client().auth.login.mutate({ code: t.wxLogin(openId) });
    expect(back).toMatchObject({ isNewUser: false, user: { id: login.user.id } });
    const backApi = t.client({ token: back.accessToken });
    expect((await backApi.notes.list.query()).map((n) => n.text)).toEqual(['kept while pending']);

    // Asked again; nothing happens before the time, then the periodic tick's run deletes it all.
    await backApi.user.deleteAccount.mutate({ code: t.wxLogin(openId) });
    const jobs = t.backend.services.accountDeletion.jobs;
    offsetMs = 7 * DAY_MS - 60_000;
    await jobs.runDue();
    expect(await t.backend.services.db.User.countDocuments({ _id: login.user.id })).toBe(1);
    offsetMs = 7 * DAY_MS + 60_000;
    // Too late to cancel once the time has come.
    await expectReason(t.client().user.cancelDeletion.mutate({ code: t.wxLogin(openId) }), 'NO_DELETION_PENDING', 409);
    await jobs.runDue();
    expect(await t.backend.services.db.User.countDocuments({ _id: login.user.id })).toBe(0);
    expect(await accountDeletionModel(t.backend.services.db.connection).countDocuments({})).toBe(0);
    const docs = await everyDocument(t);
    expect(holding(docs, openId)).toEqual([]);
    expect(holding(docs, login.user.id)).toEqual([]);

    const fresh = await t.client().auth.login.mutate({ code: t.wxLogin(openId) });
    expect(fresh.isNewUser).toBe(true);
    expect(fresh.user.id).not.toBe(login.user.id);
  });
});
