import type { Types } from 'mongoose';
import type { Database } from '../db/connection';
import type { SessionDocument } from '../db/models/session';
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
 * the per-user login rate limit), not by the collection. A listing reads the session documents
 * themselves: what it needs of each (app, times, revocation) is there, with nothing read twice.
 */
interface ListedSession {
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

/**
 * Every session document of a user, ended ones too: the user's range of `sessions` (one read),
 * then the older sessions their references name that the range did not hold (one read by `_id`).
 */
export async function sessionsOfUser(deps: Pick<ListDeps, 'db'>, userId: string): Promise<SessionDocument[]> {
  const range = { _id: rangeOf(userId) as never };
  const [own, refs] = await Promise.all([
    deps.db.Session.collection.find<SessionDocument>(range).toArray(),
    deps.db.SessionRef.collection.find<{ _id: string }>(range, { projection: { _id: 1 } }).toArray(),
  ]);
  const prefix = `${userId}:`.length;
  const held = new Set(own.map((s) => s._id));
  // A migration may have referenced a session that the range holds already: once each.
  const referenced = [...new Set(refs.map((ref) => ref._id.slice(prefix)))].filter((id) => !held.has(id));
  if (referenced.length === 0) return own;
  const older = await deps.db.Session.collection.find<SessionDocument>({ _id: { $in: referenced } as never }).toArray();
  return [...own, ...older.filter((s) => String(s.userId) === userId)];
}

/** The sessions of a user that have not reached their end (expired or ended ones may be among them). */
export async function listedSessions(deps: ListDeps, userId: string): Promise<SessionDocument[]> {
  const now = deps.now().getTime();
  return (await sessionsOfUser(deps, userId)).filter((s) => s.endsAt.getTime() > now);
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
