import { Types } from 'mongoose';
import type { Database } from '../db/connection';
import { isDuplicateKey } from '../errors';
import { listSession } from './sessionLists';

/** A refresh token document as the old shape stored it (one per token, rotated ones kept). */
interface LegacyTokenDocument {
  _id: Types.ObjectId;
  tokenHash: string;
  familyId: string;
  userId: Types.ObjectId;
  appId: string;
  openId: string;
  familyCreatedAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  userAgent?: string | null;
  ip?: string | null;
  revokedAt?: Date | null;
  sessionKeyEnc?: string | null;
}

/** The old shape's indexes: its unique tokenHash index would refuse the migrated sessions. */
const LEGACY_INDEXES = ['tokenHash_1', 'familyId_1', 'userId_1', 'appId_1_openId_1_familyCreatedAt_-1'];

/**
 * Databases written before sessions were one document per login hold one document per refresh
 * token (`tokenHash`, `familyId`, an ObjectId `_id`). At start, each live token becomes a session
 * of the current shape: its id is the family id (which the access tokens already issued carry as
 * `sid`, so they keep working), it keeps the token's hash, and the token itself, which names no
 * session, is found through legacy_refresh_tokens at its next refresh; that refresh hands out a
 * token of the current shape. Then the old documents and indexes go. What is lost: a rotated token
 * of an old family shown again is refused as invalid, no longer recognised as reuse.
 * Safe to run on several instances at once (inserts by _id, duplicates skipped).
 */
export async function migrateLegacySessions(deps: { db: Database; now: () => Date; maxAgeS: number }): Promise<number> {
  const sessions = deps.db.Session.collection;
  const legacy = (await sessions.find({ familyId: { $exists: true } }).toArray()) as unknown as LegacyTokenDocument[];
  if (legacy.length === 0) return 0;
  await Promise.all(LEGACY_INDEXES.map((name) => sessions.dropIndex(name).catch(() => undefined)));

  const now = deps.now();
  let migrated = 0;
  for (const token of legacy) {
    if (token.revokedAt != null || token.expiresAt <= now) continue;
    const endsAt = new Date(token.familyCreatedAt.getTime() + deps.maxAgeS * 1000);
    try {
      await deps.db.Session.collection.insertOne({
        _id: token.familyId as unknown as Types.ObjectId,
        userId: token.userId,
        appId: token.appId,
        openId: token.openId,
        tokenHash: token.tokenHash,
        previousHash: null,
        generation: 0,
        createdAt: token.familyCreatedAt,
        lastUsedAt: token.lastUsedAt,
        expiresAt: token.expiresAt,
        endsAt,
        userAgent: token.userAgent ?? null,
        ip: token.ip ?? null,
        revokedAt: null,
        revokedReason: null,
        sessionKeyEnc: token.sessionKeyEnc ?? null,
      });
    } catch (err) {
      if (isDuplicateKey(err)) continue; // another instance migrated it
      throw err;
    }
    await deps.db.LegacyRefreshToken.updateOne(
      { _id: token.tokenHash },
      { $setOnInsert: { sessionId: token.familyId, expiresAt: token.expiresAt } },
      { upsert: true },
    );
    await listSession(deps, token.userId, { id: token.familyId, appId: token.appId, createdAt: token.familyCreatedAt, endsAt });
    migrated++;
  }
  await sessions.deleteMany({ familyId: { $exists: true } });
  return migrated;
}

/** A user's list of sessions as an earlier shape kept it: one document per user, updated at every login. */
interface UserSessionsDocument {
  _id: Types.ObjectId;
  sessions: { id: string; appId: string; createdAt: Date; endsAt: Date }[];
}

/**
 * Databases written while each user's sessions were listed in one `user_sessions` document (which
 * every login updated) get a reference per listed session instead, and the collection goes. Until
 * then a logoutAll or a ban still ends those sessions (users.sessionsValidAfter); only
 * `user.sessions` would not show them. Safe to run on several instances at once.
 */
export async function migrateSessionLists(deps: { db: Database; now: () => Date }): Promise<number> {
  const lists = deps.db.connection.collection<UserSessionsDocument>('user_sessions');
  const now = deps.now();
  let listed = 0;
  for (const list of await lists.find({}).toArray()) {
    for (const entry of list.sessions ?? []) {
      if (entry.endsAt <= now) continue;
      await listSession(deps, list._id, entry);
      listed++;
    }
  }
  await lists.drop().catch(() => undefined); // absent, or dropped by another instance
  return listed;
}
