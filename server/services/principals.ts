import { AppError } from '../errors';
import type { AccessTokenClaims } from '../tokens/accessToken';
import { endedByUser, sessionState, type SessionDeps } from './sessions';
import type { UserStore } from '../data/users';
import { createBoundedCache } from '../infra/perf/boundedCache';
import type { StoredUser } from './users';

/**
 * Who a verified access token may act as. Looking the user and the session up on every call
 * would cost two database round trips per request, so both are kept for `ttlMs`: that is the
 * stated bound on how long a ban, a deletion or a logout done elsewhere takes to reach an access
 * token already issued. The user comes from the user cache on every call (so what a login or a
 * profile update wrote shows at once: a ban, a deletion and logoutAll's cut-off are the user's);
 * the entries here hold whether the session is live. A session this process ends drops its entry
 * at once (the sessions store says so: `invalidateSession`, wired in server/appServices.ts).
 */
export interface Principal {
  user: StoredUser;
  /** The user's openid in the token's app. */
  openId: string;
}

export interface PrincipalCache {
  resolve(claims: AccessTokenClaims): Promise<Principal>;
  /** Called by the sessions store when a session ends; nothing else calls it. */
  invalidateSession(sessionId: string): void;
}

interface Entry {
  /** The session is neither ended nor expired, and belongs to the token's user. */
  sessionLive: boolean;
  /** Its login, compared with the user's sessionsValidAfter on every call (the user may be newer). */
  createdAt: Date | null;
}

const MAX_ENTRIES = 50_000;

export function createPrincipalCache(deps: { users: UserStore; sessions: SessionDeps; ttlMs: number; now: () => Date }): PrincipalCache {
  const now = () => deps.now().getTime();
  const entries = createBoundedCache<string, Entry & { sessionGen: number }>({ maxEntries: MAX_ENTRIES, ttlMs: deps.ttlMs, now });
  // Invalidation bumps a generation instead of scanning the entries: O(1) on every logout. A
  // lookup that started before an ending must not store what it read before it.
  const sessionGen = new Map<string, number>();
  const keyOf = (c: AccessTokenClaims) => `${c.userId}:${c.sessionId}`;

  async function load(claims: AccessTokenClaims): Promise<Entry> {
    const session = await sessionState(deps.sessions, claims.sessionId);
    return { sessionLive: session.live && session.userId === claims.userId, createdAt: session.createdAt };
  }

  return {
    async resolve(claims) {
      const key = keyOf(claims);
      const gen = sessionGen.get(claims.sessionId) ?? 0;
      const cached = entries.get(key);
      const fresh = cached !== undefined && cached.sessionGen === gen;
      const [entry, user] = fresh
        ? [cached, await deps.users.get(claims.userId)]
        : await Promise.all([load(claims), deps.users.get(claims.userId)]);
      if (!fresh) entries.set(key, { ...entry, sessionGen: gen });
      if (!user) throw new AppError('USER_NOT_FOUND', 'The user of this token no longer exists');
      if (user.status === 'banned') throw new AppError('USER_BANNED', 'This account is banned');
      if (!entry.sessionLive || endedByUser(entry.createdAt!, user)) throw new AppError('SESSION_REVOKED', 'This session has ended; log in again');
      return { user, openId: claims.openId };
    },
    invalidateSession(sessionId) {
      if (sessionGen.size >= MAX_ENTRIES) {
        entries.clear();
        sessionGen.clear();
      }
      sessionGen.set(sessionId, (sessionGen.get(sessionId) ?? 0) + 1);
    },
  };
}
