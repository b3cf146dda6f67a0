import type { Types } from 'mongoose';
import type { Database } from '../db/connection';
import type { SessionRefDocument } from '../db/models/sessionRef';
import { isDuplicateKey } from '../errors';

/**
 * Each user's sessions, as references keyed `<userIdHex>:<sessionId>` (server/db/models/sessionRef.ts):
 * a login inserts one (batched with other logins'), and "every session of a user" is one read of
 * the `_id` range of that user. How many there are is bounded by the user's logins within
 * SESSION_MAX_AGE_S (and those by the per-user login rate limit), not by the collection.
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

/** `<userIdHex>:` — every reference of the user starts with it, and `;` is the character after `:`. */
const rangeOf = (userId: string) => ({ $gte: `${userId}:`, $lt: `${userId};` });
const refId = (userId: string, sessionId: string) => `${userId}:${sessionId}`;

/** The reference a new session adds, to insert beside the session itself. */
export function sessionRef(userId: Types.ObjectId | string, entry: ListedSession): SessionRefDocument {
  return { _id: refId(String(userId), entry.id), appId: entry.appId, createdAt: entry.createdAt, endsAt: entry.endsAt };
}

/** Adds a session to its user's list, once (a migration's way; a login inserts through its batcher). */
export async function listSession(deps: ListDeps, userId: Types.ObjectId | string, entry: ListedSession): Promise<void> {
  try {
    await deps.db.SessionRef.create(sessionRef(userId, entry));
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

/** The sessions listed for a user that have not reached their end (expired or ended ones may be among them). */
export async function listedSessions(deps: ListDeps, userId: string): Promise<ListedSession[]> {
  const refs = await deps.db.SessionRef.collection.find<SessionRefDocument>({ _id: rangeOf(userId) as never }).toArray();
  const now = deps.now().getTime();
  const prefix = `${userId}:`.length;
  return refs
    .filter((ref) => ref.endsAt.getTime() > now)
    .map((ref) => ({ id: ref._id.slice(prefix), appId: ref.appId, createdAt: ref.createdAt, endsAt: ref.endsAt }));
}

/** Every session id the user's references name, ended ones too (account deletion). */
export async function allListedSessionIds(deps: Pick<ListDeps, 'db'>, userId: string): Promise<string[]> {
  const refs = await deps.db.SessionRef.collection.find<{ _id: string }>({ _id: rangeOf(userId) as never }, { projection: { _id: 1 } }).toArray();
  const prefix = `${userId}:`.length;
  return refs.map((ref) => ref._id.slice(prefix));
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
