import type { Types } from 'mongoose';
import type { Database } from '../db/connection';
import type { SessionRefDocument } from '../db/models/sessionRef';
import { isDuplicateKey } from '../errors';

/**
 * Each user's sessions, found by `_id` ranges rather than by filtering on userId (which the
 * embedded database answers by reading the whole collection):
 * - a session's id starts with its user's (`<userIdHex>:<random>`, server/tokens/refreshToken.ts),
 *   so the user's sessions are the `_id` range from `<userIdHex>:` to `<userIdHex>;` of `sessions`
 *   itself: a login writes its session and nothing else;
 * - sessions started before that (ids of the random part alone, and migrated ones) are listed by
 *   references keyed `<userIdHex>:<sessionId>` in `session_refs` (server/db/models/sessionRef.ts),
 *   the same range there; the cleanup removes each past its session's end, so the collection
 *   empties as those sessions end.
 * How many sessions a user has is bounded by their logins within SESSION_MAX_AGE_S (and those by
 * the per-user login rate limit), not by the collection.
 */
export interface ListedSession {
  id: string;
  appId: string;
  createdAt: Date;
  endsAt: Date;
}

interface ListDeps {
  db: Database;
  now: () => Date;
}

/** `<userIdHex>:` — every session id and reference of the user starts with it, and `;` is the character after `:`. */
const rangeOf = (userId: string) => ({ $gte: `${userId}:`, $lt: `${userId};` });
const refId = (userId: string, sessionId: string) => `${userId}:${sessionId}`;

/** Adds a session to its user's list, once (the migrations of older shapes). */
export async function listSession(deps: ListDeps, userId: Types.ObjectId | string, entry: ListedSession): Promise<void> {
  try {
    await deps.db.SessionRef.create({ _id: refId(String(userId), entry.id), appId: entry.appId, createdAt: entry.createdAt, endsAt: entry.endsAt });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

/** Every session of a user, ended ones too, with what a listing needs of it: both ranges (see above). */
async function sessionsInRanges(deps: Pick<ListDeps, 'db'>, userId: string): Promise<ListedSession[]> {
  const range = { _id: rangeOf(userId) as never };
  const [own, refs] = await Promise.all([
    deps.db.Session.collection
      .find<{ _id: string; appId: string; createdAt: Date; endsAt: Date }>(range, { projection: { appId: 1, createdAt: 1, endsAt: 1 } })
      .toArray(),
    deps.db.SessionRef.collection.find<SessionRefDocument>(range).toArray(),
  ]);
  const prefix = `${userId}:`.length;
  const byId = new Map<string, ListedSession>();
  for (const s of own) byId.set(s._id, { id: s._id, appId: s.appId, createdAt: s.createdAt, endsAt: s.endsAt });
  // A migration may have referenced a session that its own range lists already: once each.
  for (const ref of refs) {
    const id = ref._id.slice(prefix);
    if (!byId.has(id)) byId.set(id, { id, appId: ref.appId, createdAt: ref.createdAt, endsAt: ref.endsAt });
  }
  return [...byId.values()];
}

/** The sessions of a user that have not reached their end (expired or ended ones may be among them). */
export async function listedSessions(deps: ListDeps, userId: string): Promise<ListedSession[]> {
  const now = deps.now().getTime();
  return (await sessionsInRanges(deps, userId)).filter((s) => s.endsAt.getTime() > now);
}

/** Every session id of the user, ended ones too (account deletion, the data export). */
export async function allListedSessionIds(deps: Pick<ListDeps, 'db'>, userId: string): Promise<string[]> {
  return (await sessionsInRanges(deps, userId)).map((s) => s.id);
}

/** Removes every reference of the user (account deletion). */
export async function deleteSessionRefsOfUser(deps: Pick<ListDeps, 'db'>, userId: string): Promise<void> {
  await deps.db.SessionRef.deleteMany({ _id: rangeOf(userId) });
}

/** The cleanup's part: references whose session has reached its end. */
export async function deleteEndedSessionRefs(deps: ListDeps): Promise<number> {
  const { deletedCount } = await deps.db.SessionRef.deleteMany({ endsAt: { $lte: deps.now() } });
  return deletedCount;
}
