import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { MAX_RECORDS_PER_DOCUMENT } from '../server/db/models/consent';
import { expectReason } from './helpers/expectError';
import { startTestBackend, uniqueOpenId, useTestBackend, type TestBackend } from './helpers/testBackend';

const VERSIONS = { privacy: '2024-05', terms: '2024-01' };

/** The user's consents document, straight from the database. */
async function storedConsents(t: TestBackend, userId: string) {
  return t.backend.services.db.connection
    .collection('consents')
    .findOne<{ _id: Types.ObjectId; records: { document: string; version: string; acceptedAt: Date; appId: string }[] }>({ _id: new Types.ObjectId(userId) });
}

describe('consent records (CONSENT_VERSIONS set)', () => {
  const t = useTestBackend({ CONSENT_VERSIONS: JSON.stringify(VERSIONS) });

  async function registered(consents?: { document: string; version: string }[]) {
    const openid = uniqueOpenId('consent');
    const reg = await t.client().auth.register.mutate({ code: t.wxLogin(openid), ...(consents ? { consents } : {}) });
    return { openid, reg, api: t.client({ token: reg.accessToken }) };
  }

  it('register records the consent it is sent; auth.me flags the rest; recordConsent clears it', async () => {
    const before = Date.now();
    const { reg, api } = await registered([{ document: 'privacy', version: '2024-05' }]);
    expect((await api.auth.me.query()).consentRequired).toEqual(['terms']);

    const stored = await storedConsents(t, reg.userId);
    // One document per user, _id = the user's ObjectId; each record says what, when and in which app.
    expect(stored!._id.toHexString()).toBe(reg.userId);
    expect(stored!.records).toEqual([{ document: 'privacy', version: '2024-05', acceptedAt: expect.any(Date), appId: t.backend.wechatApps[0]!.appId }]);
    expect(stored!.records[0]!.acceptedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);

    const answer = await api.user.recordConsent.mutate({ document: 'terms', version: '2024-01' });
    expect(answer).toEqual({ recorded: { document: 'terms', version: '2024-01', acceptedAt: expect.any(Date), appId: t.backend.wechatApps[0]!.appId }, consentRequired: [] });
    // This instance shows it at once (the cached auth.me answer is replaced, not waited out).
    expect((await api.auth.me.query()).consentRequired).toEqual([]);
  });

  it('a user who registered without consent is asked for every configured document, sorted', async () => {
    const { api } = await registered();
    expect((await api.auth.me.query()).consentRequired).toEqual(['privacy', 'terms']);
    expect((await api.auth.me.query()).consentRequired).toEqual(['privacy', 'terms']);
  });

  it('refuses a document that is not configured and a version that is not the current one, writing nothing', async () => {
    const { reg, api } = await registered();
    const unknown = await expectReason(api.user.recordConsent.mutate({ document: 'cookies', version: '2024-05' }), 'CONSENT_DOCUMENT_UNKNOWN', 400);
    expect(unknown.message).toContain('privacy, terms');
    const old = await expectReason(api.user.recordConsent.mutate({ document: 'privacy', version: '2023-11' }), 'CONSENT_VERSION_NOT_CURRENT', 400);
    expect(old.message).toContain('2024-05');
    for (const input of [{ document: 'Privacy', version: '2024-05' }, { document: 'privacy', version: '' }, { document: 'privacy', version: 'x'.repeat(65) }]) {
      await expectReason(api.user.recordConsent.mutate(input), 'INVALID_INPUT', 400);
    }
    expect(await storedConsents(t, reg.userId)).toBeNull();
    expect((await api.auth.me.query()).consentRequired).toEqual(['privacy', 'terms']);
  });

  it('a registration with a refused consent creates no user and leaves its ticket usable', async () => {
    const openid = uniqueOpenId('consent_ticket');
    const err = await expectReason(t.client().auth.login.mutate({ code: t.wxLogin(openid) }), 'USER_NOT_REGISTERED');
    const registrationTicket = err.data.registrationTicket!;
    await expectReason(t.client().auth.register.mutate({ registrationTicket, consents: [{ document: 'privacy', version: '2020-01' }] }), 'CONSENT_VERSION_NOT_CURRENT');
    await expectReason(t.client().auth.register.mutate({ registrationTicket, consents: [{ document: 'eula', version: '1' }] }), 'CONSENT_DOCUMENT_UNKNOWN');
    await expectReason(
      t.client().auth.register.mutate({ registrationTicket, consents: [{ document: 'privacy', version: '2024-05' }, { document: 'privacy', version: '2024-05' }] }),
      'INVALID_INPUT',
    );
    expect(await t.backend.services.db.User.countDocuments({ openId: openid })).toBe(0);

    const reg = await t.client().auth.register.mutate({ registrationTicket, consents: [{ document: 'privacy', version: '2024-05' }, { document: 'terms', version: '2024-01' }] });
    expect((await t.client({ token: reg.accessToken }).auth.me.query()).consentRequired).toEqual([]);
    expect((await storedConsents(t, reg.userId))!.records.map((r) => r.document)).toEqual(['privacy', 'terms']);
  });

  it('records survive profile changes: they are not on the user document', async () => {
    const { reg, api } = await registered([{ document: 'privacy', version: '2024-05' }, { document: 'terms', version: '2024-01' }]);
    await api.user.updateProfile.mutate({ nickName: 'Changed' });
    const me = await api.auth.me.query();
    expect(me).toMatchObject({ nickName: 'Changed', consentRequired: [] });
    expect((await storedConsents(t, reg.userId))!.records).toHaveLength(2);
    const userDoc = await t.backend.services.db.User.collection.findOne({ _id: new Types.ObjectId(reg.userId) });
    expect(Object.keys(userDoc!).filter((key) => /consent/i.test(key))).toEqual([]);
    expect(JSON.stringify(userDoc)).not.toContain('2024-05');
  });

  it(`keeps the history, bounded: the newest ${MAX_RECORDS_PER_DOCUMENT} records of each document`, async () => {
    const { reg, api } = await registered([{ document: 'terms', version: '2024-01' }]);
    const times: Date[] = [];
    for (let i = 0; i < MAX_RECORDS_PER_DOCUMENT + 5; i++) {
      times.push((await api.user.recordConsent.mutate({ document: 'privacy', version: '2024-05' })).recorded.acceptedAt);
    }
    const records = (await storedConsents(t, reg.userId))!.records;
    const privacy = records.filter((r) => r.document === 'privacy');
    expect(privacy).toHaveLength(MAX_RECORDS_PER_DOCUMENT);
    // The oldest went; the newest stayed, in order. The other document's only record stayed too.
    expect(privacy.map((r) => r.acceptedAt.getTime())).toEqual(times.slice(5).map((d) => d.getTime()));
    expect(records.filter((r) => r.document === 'terms')).toHaveLength(1);
    expect((await api.auth.me.query()).consentRequired).toEqual([]);
  });
});

describe('CONSENT_VERSIONS over time, one database', () => {
  it('none configured: nothing is due, nothing can be recorded; a new document, then a new version, each flags again', async () => {
    const apps = [{ appId: `wx${randomBytes(8).toString('hex')}`, appSecret: randomBytes(16).toString('hex') }];
    const dbName = `test_consent_${randomBytes(6).toString('hex')}`;
    const openid = uniqueOpenId('versions');
    /** One instance of the deployment, configured with these versions: log in, then run `body`. */
    async function withVersions(versions: Record<string, string> | undefined, body: (api: ReturnType<TestBackend['client']>, t: TestBackend) => Promise<void>) {
      const t = await startTestBackend({ AUTH_REGISTRATION: 'auto', ...(versions ? { CONSENT_VERSIONS: JSON.stringify(versions) } : {}) }, { dbName, simulatorApps: apps });
      try {
        const { accessToken } = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
        await body(t.client({ token: accessToken }), t);
        expect(t.leakedSecrets()).toEqual([]);
      } finally {
        await t.stop();
      }
    }

    await withVersions(undefined, async (api) => {
      expect((await api.auth.me.query()).consentRequired).toEqual([]);
      const refused = await expectReason(api.user.recordConsent.mutate({ document: 'privacy', version: '2024-05' }), 'CONSENT_DOCUMENT_UNKNOWN');
      expect(refused.message).toMatch(/CONSENT_VERSIONS is empty/);
    });
    // The operator publishes a privacy policy: everyone is asked.
    await withVersions({ privacy: '2024-05' }, async (api) => {
      expect((await api.auth.me.query()).consentRequired).toEqual(['privacy']);
      await api.user.recordConsent.mutate({ document: 'privacy', version: '2024-05' });
      expect((await api.auth.me.query()).consentRequired).toEqual([]);
    });
    // A new version: asked again; the old version can no longer be recorded.
    await withVersions({ privacy: '2024-09' }, async (api, t) => {
      expect((await api.auth.me.query()).consentRequired).toEqual(['privacy']);
      await expectReason(api.user.recordConsent.mutate({ document: 'privacy', version: '2024-05' }), 'CONSENT_VERSION_NOT_CURRENT');
      await api.user.recordConsent.mutate({ document: 'privacy', version: '2024-09' });
      expect((await api.auth.me.query()).consentRequired).toEqual([]);
      // Both acceptances are kept: the proof of each text.
      const me = await api.auth.me.query();
      expect((await storedConsents(t, me.id))!.records.map((r) => r.version)).toEqual(['2024-05', '2024-09']);
    });
  });
});
