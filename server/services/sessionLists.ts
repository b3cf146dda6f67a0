import { Types } from 'mongoose';
import type { Database } from '../db/connection';
import type { ListedSession } from '../db/models/userSessions';
import { isDuplicateKey } from '../errors';

/**
 * Each user's list of sessions (server/db/models/userSessions.ts), read and written by `_id`.
 * A login pushes its session. Past MAX_LISTED_SESSIONS live entries the oldest sessions are
 * ended ("too many sessions") and dropped with the expired ones, so the list, and whatever
 * reads all of a user's sessions, stays bounded.
 */
export const MAX_LISTED_SESSIONS = 50;

interface ListDeps {
  db: Database;
  now: () => Date;
}

// On the embedded database two updates of one document at once can lose one of them (see
// sessions.ts): this process writes a user's list one update at a time.
const queues = new Map<string, Promise<unknown>>();
function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(work, work);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return run;
}

/** Adds a session to its user's list; returns the entries that no longer fit (to be ended). */
export function listSession(deps: ListDeps, userId: Types.ObjectId, entry: ListedSession): Promise<ListedSession[]> {
  return oneAtATime(String(userId), async () => {
    const push = () =>
      deps.db.UserSessions.findOneAndUpdate({ _id: userId }, { $push: { sessions: entry } }, { upsert: true, returnDocument: 'after' }).lean();
    let list;
    try {
      list = await push();
    } catch (err) {
      // Two first logins of one user upserted at once (another instance): the list exists now.
      if (!isDuplicateKey(err)) throw err;
      list = await push();
    }
    if (!list || list.sessions.length <= MAX_LISTED_SESSIONS) return [];
    const now = deps.now().getTime();
    const current = list.sessions.filter((s) => s.endsAt.getTime() > now).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    const overflow = current.slice(0, Math.max(0, current.length - MAX_LISTED_SESSIONS));
    const kept = current.slice(overflow.length);
    await deps.db.UserSessions.updateOne({ _id: userId }, { $set: { sessions: kept } });
    return overflow;
  });
}

/** The sessions listed for a user that have not reached their end (expired or ended ones may be among them). */
export async function listedSessions(deps: ListDeps, userId: string): Promise<ListedSession[]> {
  if (!Types.ObjectId.isValid(userId)) return [];
  const list = await deps.db.UserSessions.findById(userId).lean();
  const now = deps.now().getTime();
  return (list?.sessions ?? []).filter((s) => s.endsAt.getTime() > now);
}
