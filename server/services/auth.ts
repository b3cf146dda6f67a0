import type { LoginInput, LoginOutput, RefreshOutput, RegisterInput, RegisterOutput } from '../../shared';
import type { Database } from '../db/connection';
import { AppError, isDuplicateKey } from '../errors';
import type { RateLimiter } from '../rateLimit/limiter';
import type { SecretBox } from '../secrets/secretBox';
import type { AccessTokens } from '../tokens/accessToken';
import { code2Session, type WeChatAppCredentials, type WeChatSession } from '../wechat/code2Session';
import type { WeChatHttpOptions } from '../wechat/requestJson';
import { verifiedProfile, type UserDataInput, type WeChatProfile } from '../wechat/userData';
import {
  claimRegistrationTicket,
  issueRegistrationTicket,
  peekRegistrationTicket,
  type TicketDeps,
} from './registrationTickets';
import type { PrincipalCache } from './principals';
import { endAllSessions, endSession, rotateRefreshToken, startSession, type ClientInfo, type SessionDeps } from './sessions';
import { profileUpdate, toUserOutput, type StoredUser } from './users';

export interface AuthDeps {
  db: Database;
  box: SecretBox;
  tokens: AccessTokens;
  wechat: { app: WeChatAppCredentials; http: WeChatHttpOptions; watermarkMaxAgeS: number };
  registration: 'explicit' | 'auto';
  tickets: TicketDeps;
  sessions: SessionDeps;
  principals: PrincipalCache;
  limiter: RateLimiter;
  now: () => Date;
}

/** A new session for this user: the access token names it, the refresh token continues it. */
async function signIn(deps: AuthDeps, user: StoredUser, client: ClientInfo) {
  const session = await startSession(deps.sessions, user._id, client);
  deps.principals.invalidateUser(String(user._id)); // the profile or status just changed here
  return {
    ...deps.tokens.issue({ userId: String(user._id), sessionId: session.sessionId }),
    refreshToken: session.refreshToken,
    refreshExpiresIn: session.refreshExpiresIn,
  };
}

function verifyUserData(deps: AuthDeps, input: UserDataInput, session: WeChatSession): WeChatProfile | null {
  return verifiedProfile(input, session.sessionKey, session.openId, {
    appId: deps.wechat.app.appId,
    maxAgeS: deps.wechat.watermarkMaxAgeS,
    nowS: Math.floor(deps.now().getTime() / 1000),
  });
}

/** What every login and registration records: the time and the (sealed) fresh session_key. */
function loginFields(deps: AuthDeps, session: WeChatSession) {
  const now = deps.now();
  return {
    lastLoginAt: now,
    sessionKeyEnc: deps.box.seal(session.sessionKey),
    sessionKeyUpdatedAt: now,
    ...(session.unionId ? { unionId: session.unionId } : {}),
  };
}

/**
 * auth.login: the code alone is enough; signed or encrypted profile data, when sent, is verified
 * against this code's session_key and refreshes the profile.
 */
export async function login(deps: AuthDeps, input: LoginInput, client: ClientInfo): Promise<LoginOutput> {
  const session = await code2Session(deps.wechat.app, input.code, deps.wechat.http);
  await deps.limiter.check('openid', session.openId);
  const profile = verifyUserData(deps, input, session);
  const $set = { ...profileUpdate(profile, undefined), ...loginFields(deps, session) };

  // Returning active user: one round trip.
  const returning = await updateActiveUser(deps, session.openId, $set);
  if (returning) return { ...(await signIn(deps, returning, client)), user: toUserOutput(returning), isNewUser: false };

  const existing = await deps.db.User.findOne({ openId: session.openId }, { status: 1 }).lean();
  if (existing?.status === 'banned') throw banned();

  if (!existing && deps.registration === 'explicit') {
    const registrationTicket = await issueRegistrationTicket(deps.tickets, session);
    throw new AppError('USER_NOT_REGISTERED', 'No account for this WeChat user yet; register with the registration ticket', {
      registrationTicket,
    });
  }

  if (existing) {
    // Another request created the user between our update and our look: update it now.
    const raced = await updateActiveUser(deps, session.openId, $set);
    if (!raced) throw banned();
    return { ...(await signIn(deps, raced, client)), user: toUserOutput(raced), isNewUser: false };
  }

  const { user, created } = await upsertUser(deps, session.openId, $set);
  if (user.status === 'banned') throw banned();
  return { ...(await signIn(deps, user, client)), user: toUserOutput(user), isNewUser: created };
}

const banned = () => new AppError('USER_BANNED', 'This account is banned');

function updateActiveUser(deps: AuthDeps, openId: string, $set: object) {
  return deps.db.User.findOneAndUpdate({ openId, status: 'active' }, { $set }, { returnDocument: 'after' }).lean<StoredUser>();
}

/**
 * Auto registration: an upsert on the unique openId, so simultaneous first logins of one user
 * create exactly one document. A duplicate key error means another request inserted it between
 * our match and our insert; the retry then matches it.
 */
async function upsertUser(deps: AuthDeps, openId: string, $set: object): Promise<{ user: StoredUser; created: boolean }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await deps.db.User.findOneAndUpdate(
        { openId },
        { $set, $setOnInsert: { openId, status: 'active' } },
        { upsert: true, returnDocument: 'after', includeResultMetadata: true, lean: true },
      );
      return { user: result.value as unknown as StoredUser, created: !result.lastErrorObject?.updatedExisting };
    } catch (err) {
      if (!isDuplicateKey(err) || attempt >= 2) throw err;
    }
  }
}

/** auth.register: with a fresh code, or with the ticket a USER_NOT_REGISTERED login handed out. */
export async function register(deps: AuthDeps, input: RegisterInput, client: ClientInfo): Promise<RegisterOutput> {
  const session = input.registrationTicket
    ? await peekRegistrationTicket(deps.tickets, input.registrationTicket)
    : await code2Session(deps.wechat.app, input.code!, deps.wechat.http);
  await deps.limiter.check('openid', session.openId);
  const profile = verifyUserData(deps, input, session);
  if (input.registrationTicket) await claimRegistrationTicket(deps.tickets, input.registrationTicket);

  let created: StoredUser;
  try {
    const doc = await deps.db.User.create({
      openId: session.openId,
      status: 'active',
      ...profileUpdate(profile, input.profile),
      ...loginFields(deps, session),
    });
    created = doc.toObject() as StoredUser;
  } catch (err) {
    if (isDuplicateKey(err)) throw new AppError('USER_EXISTS', 'This WeChat user is already registered; log in instead');
    throw err;
  }
  return {
    userId: String(created._id),
    createdAt: created.createdAt,
    ...(await signIn(deps, created, client)),
    user: toUserOutput(created),
  };
}

/**
 * auth.refresh: rotates the refresh token and issues a new access token for the same session.
 * A banned or deleted user's refresh fails at once and ends their sessions.
 */
export async function refresh(deps: AuthDeps, refreshToken: string, client: ClientInfo): Promise<RefreshOutput> {
  const next = await rotateRefreshToken(deps.sessions, refreshToken, client);
  const user = await deps.db.User.findById(next.userId, { status: 1 }).lean();
  if (!user || user.status === 'banned') {
    await endAllSessions(deps.sessions, next.userId, 'user_banned');
    deps.principals.invalidateUser(next.userId);
    throw user ? new AppError('USER_BANNED', 'This account is banned') : new AppError('USER_NOT_FOUND', 'This account no longer exists');
  }
  return {
    ...deps.tokens.issue({ userId: next.userId, sessionId: next.sessionId }),
    refreshToken: next.refreshToken,
    refreshExpiresIn: next.refreshExpiresIn,
  };
}

/** auth.logout: ends the session of the access token that asks. */
export async function logout(deps: AuthDeps, userId: string, sessionId: string): Promise<{ ok: true }> {
  await endSession(deps.sessions, userId, sessionId);
  deps.principals.invalidateSession(sessionId);
  return { ok: true };
}

/** auth.logoutAll: ends every session of the user, on every device. */
export async function logoutAll(deps: AuthDeps, userId: string): Promise<{ revokedSessions: number }> {
  const revokedSessions = await endAllSessions(deps.sessions, userId);
  deps.principals.invalidateUser(userId);
  return { revokedSessions };
}
