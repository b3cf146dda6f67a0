import type { Database } from '../db/connection';
import { AppError } from '../errors';
import type { AccessTokenClaims } from '../tokens/accessToken';
import { isSessionLive, type SessionDeps } from './sessions';
import type { StoredUser } from './users';

/**
 * Who a verified access token may act as. Looking the user and the session up on every call
 * would cost two database round trips per request, so the answer is kept for `ttlMs`: that is
 * the stated bound on how long a ban, a deletion or a logout done elsewhere takes to reach an
 * access token already issued. Changes made through this process invalidate at once.
 */
export interface Principal {
  user: StoredUser;
  /** The user's openid in the token's app. */
  openId: string;
}

export interface PrincipalCache {
  resolve(claims: AccessTokenClaims): Promise<Principal>;
  invalidateUser(userId: string): void;
  invalidateSession(sessionId: string): void;
}

interface Entry {
  user: StoredUser | null;
  sessionLive: boolean;
  at: number;
}

const MAX_ENTRIES = 50_000;

export function createPrincipalCache(deps: { db: Database; sessions: SessionDeps; ttlMs: number; now: () => Date }): PrincipalCache {
  const entries = new Map<string, Entry>();
  const keyOf = (c: AccessTokenClaims) => `${c.userId}:${c.sessionId}`;

  async function load(claims: AccessTokenClaims): Promise<Entry> {
    const [user, sessionLive] = await Promise.all([
      deps.db.User.findById(claims.userId).lean<StoredUser>(),
      isSessionLive(deps.sessions, claims.sessionId),
    ]);
    return { user, sessionLive, at: deps.now().getTime() };
  }

  return {
    async resolve(claims) {
      const key = keyOf(claims);
      let entry = entries.get(key);
      if (!entry || deps.now().getTime() - entry.at >= deps.ttlMs) {
        entry = await load(claims);
        if (deps.ttlMs > 0) {
          entries.delete(key); // re-insert: Map order is our eviction order
          entries.set(key, entry);
          if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
        }
      }
      if (!entry.user) throw new AppError('USER_NOT_FOUND', 'The user of this token no longer exists');
      if (entry.user.status === 'banned') throw new AppError('USER_BANNED', 'This account is banned');
      if (!entry.sessionLive) throw new AppError('SESSION_REVOKED', 'This session has ended; log in again');
      return { user: entry.user, openId: claims.openId };
    },
    invalidateUser(userId) {
      for (const key of entries.keys()) if (key.startsWith(`${userId}:`)) entries.delete(key);
    },
    invalidateSession(sessionId) {
      for (const key of entries.keys()) if (key.endsWith(`:${sessionId}`)) entries.delete(key);
    },
  };
}
