import { isDeepStrictEqual } from 'node:util';
import { Types } from 'mongoose';
import type { Database } from '../db/connection';
import { createBoundedCache } from '../infra/perf/boundedCache';
import { createReadBatcher } from '../infra/perf/readBatcher';
import type { StoredUser } from '../services/users';

/**
 * Users, read and written through one place that keeps the user cache right by itself: services
 * call `get` / `update` / `create` and never touch a cache.
 *
 * Logins and authenticated calls read the user (status, profile, sessionsValidAfter) on every
 * request; reading it from the database each time would be a round trip per call, so `get`
 * answers from memory for `ttlMs`. That is the stated bound on how long a ban or deletion made by
 * another instance (or the admin CLI) takes to reach this one; what this process writes shows at
 * once, because every write goes through here.
 */
export interface UserStore {
  /** The user by _id, from memory while fresh; null when there is none. */
  get(userId: string): Promise<StoredUser | null>;
  /** The user by _id from the database (the cache takes the answer). */
  read(userId: string): Promise<StoredUser | null>;
  /** Inserts a new user (a duplicate openId fails with the driver's duplicate key error). */
  create(fields: Record<string, unknown>): Promise<StoredUser>;
  /**
   * `$set` on the one user the filter names, returning it as it is after the write (or before,
   * with `returnDocument: 'before'`); null when no user matched.
   */
  update(filter: UserFilter, $set: Record<string, unknown>, opts?: { returnDocument?: 'before' | 'after' }): Promise<StoredUser | null>;
  /** For a write made behind this store's back (a test, a migration): the next `get` reads the database. */
  forget(userId: string): void;
}

/** By _id (the hot paths: the one filter the embedded database answers from an index), or by openId (a first login's race). */
export type UserFilter = { _id: string | Types.ObjectId; status?: 'active' } | { openId: string };

// A lean user document is about 1 KB: at most ~50 MB for the cache.
const MAX_ENTRIES = 50_000;

export function createUserStore(deps: { db: Database; ttlMs: number; now: () => number }): UserStore {
  const { db } = deps;
  const cache = createBoundedCache<string, StoredUser | null>({ maxEntries: MAX_ENTRIES, ttlMs: deps.ttlMs, now: deps.now });
  // The user object each id was last answered with, fresh or not. A read that finds the document
  // unchanged answers with that same object, so what is built once per user object (auth.me's
  // validated, serialized answer: server/infra/perf/reusedOutputs.ts) is built again only when the
  // user changed, not on every uncached call. Comparing costs a few µs; rebuilding, far more.
  const lastAnswered = createBoundedCache<string, StoredUser>({ maxEntries: MAX_ENTRIES });
  // Bumped by every write: a read that started before one must not store its older answer.
  const generations = new Map<string, number>();

  function bump(userId: string) {
    if (generations.size >= MAX_ENTRIES) generations.clear(); // only in-flight reads looked at these
    generations.set(userId, (generations.get(userId) ?? 0) + 1);
  }
  function remember(user: StoredUser) {
    const userId = String(user._id);
    bump(userId);
    cache.set(userId, user);
    lastAnswered.set(userId, user);
  }
  function forget(userId: string) {
    bump(userId);
    cache.delete(userId);
    lastAnswered.delete(userId);
  }
  /** `read`'s document, as the object answered last time when nothing in it changed. */
  function sameAsBefore(userId: string, read: StoredUser | null): StoredUser | null {
    if (!read) {
      lastAnswered.delete(userId);
      return null;
    }
    const before = lastAnswered.get(userId);
    if (before && isDeepStrictEqual(before, read)) return before;
    lastAnswered.set(userId, read);
    return read;
  }

  // Reads by _id, many requests to a round trip (logins, refreshes and uncached calls of a moment).
  const reads = createReadBatcher<StoredUser>(() => db.User.collection);

  async function read(userId: string) {
    if (!Types.ObjectId.isValid(userId)) return null;
    const generation = generations.get(userId) ?? 0;
    const read = await reads.byId(new Types.ObjectId(userId));
    if ((generations.get(userId) ?? 0) !== generation) return read;
    const user = sameAsBefore(userId, read);
    cache.set(userId, user);
    return user;
  }

  return {
    async get(userId) {
      const cached = cache.get(userId);
      return cached !== undefined ? cached : read(userId);
    },
    read,
    async create(fields) {
      const doc = await db.User.create(fields);
      const user = doc.toObject() as StoredUser;
      remember(user);
      return user;
    },
    async update(filter, $set, opts = {}) {
      const returnDocument = opts.returnDocument ?? 'after';
      const user = await db.User.findOneAndUpdate(filter, { $set }, { returnDocument }).lean<StoredUser>();
      if (user && returnDocument === 'after') remember(user);
      else if (user) forget(String(user._id));
      else if ('_id' in filter) forget(String(filter._id));
      return user;
    },
    forget,
  };
}
