import type { Database } from '../db/connection';
import type { StoredUser } from './users';

/**
 * Users by id, kept for `ttlMs`: logins and authenticated calls read the user (status, profile)
 * on every request, and reading it from the database each time would be a round trip per call.
 * `ttlMs` is the stated bound on how long a ban or deletion made by another instance takes to
 * reach this one; changes made through this process go through `remember` / `forget` at once.
 */
export interface UserCache {
  /** The user, or null when there is none. */
  get(userId: string): Promise<StoredUser | null>;
  /** The user as the database has it now (one read by `_id`), remembered for the next `get`. */
  read(userId: string): Promise<StoredUser | null>;
  /** The user as just written by this process. */
  remember(user: StoredUser): void;
  /** The next `get` reads the database. */
  forget(userId: string): void;
}

interface Entry {
  user: StoredUser | null;
  at: number;
}

// A lean user document is about 1 KB: at most ~50 MB for the cache.
const MAX_ENTRIES = 50_000;

export function createUserCache(deps: { db: Database; ttlMs: number; now: () => number }): UserCache {
  const entries = new Map<string, Entry>();
  // Bumped by every forget/remember: a read that started before one must not store its older answer.
  const generations = new Map<string, number>();

  function store(userId: string, entry: Entry) {
    if (deps.ttlMs <= 0) return;
    entries.delete(userId); // re-insert: Map order is the eviction order
    entries.set(userId, entry);
    if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  }
  function bump(userId: string) {
    if (generations.size >= MAX_ENTRIES) generations.clear(); // only in-flight reads looked at these
    generations.set(userId, (generations.get(userId) ?? 0) + 1);
  }

  async function read(userId: string) {
    const generation = generations.get(userId) ?? 0;
    const user = await deps.db.User.findById(userId).lean<StoredUser>();
    if ((generations.get(userId) ?? 0) === generation) store(userId, { user, at: deps.now() });
    return user;
  }

  return {
    async get(userId) {
      const cached = entries.get(userId);
      if (cached && deps.now() - cached.at < deps.ttlMs) return cached.user;
      return read(userId);
    },
    read,
    remember(user) {
      const userId = String(user._id);
      bump(userId);
      store(userId, { user, at: deps.now() });
    },
    forget(userId) {
      bump(userId);
      entries.delete(userId);
    },
  };
}
