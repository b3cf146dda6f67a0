import { Types } from 'mongoose';
import type { Database } from '../../server/db/connection';
import { identityId } from '../../server/db/models/identity';

/** The openid of seeded user number i (0-based): stable, so a scenario can address any of them. */
export const seededOpenId = (i: number) => `bench_u${String(i).padStart(7, '0')}`;

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
      const userId = new Types.ObjectId();
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
