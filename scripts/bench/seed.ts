import { Types } from 'mongoose';
import type { Database } from '../../server/db/connection';
import { identityId } from '../../server/db/models/identity';
import type { SessionDocument } from '../../server/db/models/session';
import { newRefreshToken, newSessionId } from '../../server/tokens/refreshToken';

/** The openid of seeded user number i (0-based): stable, so a scenario can address any of them. */
export const seededOpenId = (i: number) => `bench_u${String(i).padStart(7, '0')}`;
/** The id of seeded user number i: stable too, so sessions can be seeded for any of them. */
export const seededUserId = (i: number) => new Types.ObjectId(`be${i.toString(16).padStart(22, '0')}`);

export interface SeedProgress {
  inserted: number;
  ms: number;
}

/**
 * Inserts users [from, to) straight through the driver, as a login would have left them: a user
 * (registered in `appId`) and its identity `${appId}:${openId}`. Batches of `batch`; the next
 * batch is prepared while the previous one is written.
 */
export async function seedUsers(
  db: Database,
  appId: string,
  range: { from: number; to: number },
  opts: { batch?: number; onProgress?: (p: SeedProgress) => void } = {},
): Promise<SeedProgress> {
  const batch = opts.batch ?? 1000;
  const started = performance.now();
  let inserted = 0;
  let lastReport = started;
  for (let start = range.from; start < range.to; start += batch) {
    const end = Math.min(range.to, start + batch);
    const now = new Date();
    const users = [];
    const identities = [];
    for (let i = start; i < end; i++) {
      const openId = seededOpenId(i);
      const userId = seededUserId(i);
      users.push({ _id: userId, openId, registeredAppId: appId, status: 'active' as const, createdAt: now, updatedAt: now });
      identities.push({ _id: identityId(appId, openId), appId, openId, userId, createdAt: now });
    }
    // Users first: an identity never points at a user that is not there yet.
    await db.User.insertMany(users, { ordered: true });
    await db.Identity.insertMany(identities, { ordered: true });
    inserted += end - start;
    const t = performance.now();
    if (opts.onProgress && t - lastReport > 5000) {
      lastReport = t;
      opts.onProgress({ inserted, ms: t - started });
    }
  }
  return { inserted, ms: performance.now() - started };
}

/**
 * Inserts `count` sessions straight through the driver, as logins would have left them, for the
 * seeded users [0, users) in turn. Returns the refresh tokens of the first `keep` (the others'
 * tokens are thrown away: they only make the collection large).
 */
export async function seedSessions(
  db: Database,
  appId: string,
  opts: { count: number; users: number; keep: number; maxAgeS: number; batch?: number; onProgress?: (p: SeedProgress) => void },
): Promise<SeedProgress & { refreshTokens: string[] }> {
  const batch = opts.batch ?? 1000;
  const started = performance.now();
  const refreshTokens: string[] = [];
  let lastReport = started;
  for (let start = 0; start < opts.count; start += batch) {
    const end = Math.min(opts.count, start + batch);
    const now = new Date();
    const endsAt = new Date(now.getTime() + opts.maxAgeS * 1000);
    const docs: SessionDocument[] = [];
    for (let i = start; i < end; i++) {
      const user = i % opts.users;
      const sessionId = newSessionId(seededUserId(user).toHexString());
      const { token, secretHash } = newRefreshToken(sessionId);
      if (refreshTokens.length < opts.keep) refreshTokens.push(token);
      docs.push({
        _id: sessionId,
        userId: seededUserId(user),
        appId,
        openId: seededOpenId(user),
        tokenHash: secretHash,
        previousHash: null,
        generation: 0,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: new Date(now.getTime() + 30 * 86_400_000),
        endsAt,
        userAgent: 'bench',
        ip: '127.0.0.1',
        revokedAt: null,
        revokedReason: null,
        sessionKeyEnc: null,
      });
    }
    await db.Session.collection.insertMany(docs as never[], { ordered: false });
    const t = performance.now();
    if (opts.onProgress && t - lastReport > 5000) {
      lastReport = t;
      opts.onProgress({ inserted: end, ms: t - started });
    }
  }
  return { inserted: opts.count, ms: performance.now() - started, refreshTokens };
}
