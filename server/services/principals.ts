import { AppError } from '../errors';
import type { AccessTokenClaims } from '../tokens/accessToken';
import { endedByUser, sessionState, type SessionDeps } from './sessions';
import type { UserCache } from './userCache';
import type { StoredUser } from './users';

/**
 * Who a verified access token may act as. Looking the user and the session up on every call
 * would cost two database round trips per request, so both are kept for `ttlMs`: that is the
 * stated bound on how long a ban, a deletion or a logout done elsewhere takes to reach an access
 * token already issued. The user comes from the user cache on every call (so what a login or a
 * profile update wrote shows at once); the entries here hold whether the session is live.
 * Changes made through this process invalidate at once.
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
  /** The session is neither ended nor expired, and belongs to the token's user. */
  sessionLive: boolean;
  /** Its login, compared with the user's sessionsValidAfter on every call (the user may be newer). */
  createdAt: Date | null;
  at: number;
}

const MAX_ENTRIES = 50_000;

export function createPrincipalCache(deps: { users: UserCache; sessions: SessionDeps; ttlMs: number; now: () => Date }): PrincipalCache {
  const entries = new Map<string, Entry & { userGen: number; sessionGen: number }>();
  // Invalidation bumps a generation instead of scanning the entries: O(1) on every login.
  const userGen = new Map<string, number>();
  const sessionGen = new Map<string, number>();
  const keyOf = (c: AccessTokenClaims) => `${c.userId}:${c.sessionId}`;
  const bump = (gens: Map<string, number>, id: string) => {
    if (gens.size >= MAX_ENTRIES) forgetAll();
    gens.set(id, (gens.get(id) ?? 0) + 1);
  };
  function forgetAll() {
    entries.clear();
    userGen.clear();
    sessionGen.clear();
  }

  async function load(claims: AccessTokenClaims): Promise<Entry> {
    const session = await sessionState(deps.sessions, claims.sessionId);
    return { sessionLive: session.live && session.userId === claims.userId, createdAt: session.createdAt, at: deps.now().getTime() };
  }

  return {
    async resolve(claims) {
      const key = keyOf(claims);
      const gens = { userGen: userGen.get(claims.userId) ?? 0, sessionGen: sessionGen.get(claims.sessionId) ?? 0 };
      const cached = entries.get(key);
      const fresh =
        cached !== undefined &&
        deps.now().getTime() - cached.at < deps.ttlMs &&
        cached.userGen === gens.userGen &&
        cached.sessionGen === gens.sessionGen;
      const [entry, user] = fresh
        ? [cached, await deps.users.get(claims.userId)]
        : await Promise.all([load(claims), deps.users.get(claims.userId)]);
      if (!fresh && deps.ttlMs > 0) {
        entries.delete(key); // re-insert: Map order is our eviction order
        entries.set(key, { ...entry, ...gens });
        if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      }
      if (!user) throw new AppError('USER_NOT_FOUND', 'The user of this token no longer exists');
      if (user.status === 'banned') throw new AppError('USER_BANNED', 'This account is banned');
      if (!entry.sessionLive || endedByUser(entry.createdAt!, user)) throw new AppError('SESSION_REVOKED', 'This session has ended; log in again');
      return { user, openId: claims.openId };
    },
    invalidateUser(userId) {
      deps.users.forget(userId);
      bump(userGen, userId);
    },
    invalidateSession: (sessionId) => bump(sessionGen, sessionId),
  };
}
