import type { LoginInput, LoginOutput, RefreshOutput, RegisterInput, RegisterOutput } from '../../shared';
import type { Database } from '../db/connection';
import { identityId } from '../db/models/identity';
import { AppError, isDuplicateKey } from '../errors';
import type { RateLimiter } from '../rateLimit/limiter';
import type { SecretBox } from '../secrets/secretBox';
import type { AccessTokens } from '../tokens/accessToken';
import { code2Session } from '../wechat/code2Session';
import type { WeChatHttpOptions } from '../wechat/requestJson';
import { verifiedProfile, type UserDataInput, type WeChatProfile } from '../wechat/userData';
import { recordIdentity } from './identities';
import type { PrincipalCache } from './principals';
import { claimRegistrationTicket, issueRegistrationTicket, peekRegistrationTicket, type TicketDeps } from './registrationTickets';
import { endAllSessions, endSession, rotateRefreshToken, startSession, type ClientInfo, type SessionDeps } from './sessions';
import { profileUpdate, toUserOutput, type StoredUser } from './users';
import type { AppSession, WeChatApps } from './wechatApps';

export interface AuthDeps {
  db: Database;
  box: SecretBox;
  tokens: AccessTokens;
  wechat: { apps: WeChatApps; http: WeChatHttpOptions; watermarkMaxAgeS: number };
  registration: 'explicit' | 'auto';
  tickets: TicketDeps;
  sessions: SessionDeps;
  principals: PrincipalCache;
  limiter: RateLimiter;
  now: () => Date;
}

const banned = () => new AppError('USER_BANNED', 'This account is banned');

/** wx.login code → openid and session_key, for the app the request names. */
async function exchangeCode(deps: AuthDeps, appId: string | undefined, code: string): Promise<AppSession> {
  const app = deps.wechat.apps.resolve(appId);
  const session = await code2Session(app, code, deps.wechat.http);
  await deps.limiter.check('openid', session.openId);
  return { ...session, appId: app.appId };
}

function verifyUserData(deps: AuthDeps, input: UserDataInput, session: AppSession): WeChatProfile | null {
  return verifiedProfile(input, session.sessionKey, session.openId, {
    appId: session.appId,
    maxAgeS: deps.wechat.watermarkMaxAgeS,
    nowS: Math.floor(deps.now().getTime() / 1000),
  });
}

/**
 * A new session for this user in this app: the access token names it, the refresh token continues
 * it. The identity (with the fresh session_key) is recorded unless the caller already did.
 */
async function signIn(deps: AuthDeps, user: StoredUser, session: AppSession, client: ClientInfo, identityRecorded = false) {
  if (!identityRecorded) await recordIdentity(deps, session, user._id);
  const started = await startSession(deps.sessions, { userId: user._id, appId: session.appId, openId: session.openId }, client);
  deps.principals.invalidateUser(String(user._id)); // the profile or status just changed here
  return {
    ...deps.tokens.issue({ userId: String(user._id), sessionId: started.sessionId, appId: session.appId, openId: session.openId }),
    refreshToken: started.refreshToken,
    refreshExpiresIn: started.refreshExpiresIn,
    user: toUserOutput(user, session.openId),
  };
}

/**
 * Updates an active user; null when the user is banned or gone. Both steps filter by _id alone:
 * the lookup every database (the embedded one included) answers from an index.
 */
async function updateActiveUser(deps: AuthDeps, userId: unknown, $set: object): Promise<StoredUser | 'banned' | 'gone'> {
  const current = await deps.db.User.findById(userId, { status: 1 }).lean();
  if (!current) return 'gone';
  if (current.status !== 'active') return 'banned';
  const user = await deps.db.User.findByIdAndUpdate(userId, { $set }, { returnDocument: 'after' }).lean<StoredUser>();
  return user ?? 'gone';
}

/**
 * The user this WeChat session belongs to, if any: by its identity in this app, else (first
 * visit to this app) by unionId, which links the apps of one Open Platform account.
 */
async function findUserId(deps: AuthDeps, session: AppSession): Promise<unknown> {
  const identity = await deps.db.Identity.findById(identityId(session.appId, session.openId), { userId: 1 }).lean();
  if (identity) return identity.userId;
  return session.unionId ? userIdByUnionId(deps, session.unionId) : null;
}

async function userIdByUnionId(deps: AuthDeps, unionId: string): Promise<unknown> {
  const linked = await deps.db.User.findOne({ unionId }, { _id: 1 }).lean();
  return linked?._id ?? null;
}

/**
 * auth.login: the code alone is enough; signed or encrypted profile data, when sent, is verified
 * against this code's session_key and refreshes the profile.
 */
export async function login(deps: AuthDeps, input: LoginInput, appId: string | undefined, client: ClientInfo): Promise<LoginOutput> {
  const session = await exchangeCode(deps, appId, input.code);
  const profile = verifyUserData(deps, input, session);
  const $set = { ...profileUpdate(profile, undefined), lastLoginAt: deps.now(), ...(session.unionId ? { unionId: session.unionId } : {}) };

  // A returning user: their identity in this app, updated with the fresh session_key in the same
  // round trip that finds it (every database op counts on the login path).
  const known = await recordIdentity(deps, session, null);
  const linked = known ?? (session.unionId ? await userIdByUnionId(deps, session.unionId) : null);
  if (linked) {
    const user = await updateActiveUser(deps, linked, $set);
    if (user === 'banned') throw banned();
    if (user !== 'gone') return { ...(await signIn(deps, user, session, client, known !== null)), isNewUser: false };
    // An identity whose user was deleted: the person starts over.
    await deps.db.Identity.deleteOne({ _id: identityId(session.appId, session.openId) });
  }

  if (deps.registration === 'explicit') {
    const registrationTicket = await issueRegistrationTicket(deps.tickets, session);
    throw new AppError('USER_NOT_REGISTERED', 'No account for this WeChat user yet; register with the registration ticket', {
      registrationTicket,
    });
  }
  const { user, created } = await createUser(deps, session, $set);
  if (!created && user.status === 'banned') throw banned();
  return { ...(await signIn(deps, user, session, client)), isNewUser: created };
}

/**
 * Creates the user of a first login. The unique openId index settles simultaneous first logins:
 * one insert wins; the others find the winner's user.
 */
async function createUser(deps: AuthDeps, session: AppSession, fields: object): Promise<{ user: StoredUser; created: boolean }> {
  try {
    const doc = await deps.db.User.create({ openId: session.openId, registeredAppId: session.appId, status: 'active', ...fields });
    return { user: doc.toObject() as StoredUser, created: true };
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const existing = await deps.db.User.findOneAndUpdate({ openId: session.openId }, { $set: fields }, { returnDocument: 'after' }).lean<StoredUser>();
    if (!existing) throw err;
    return { user: existing, created: false };
  }
}

/** auth.register: with a fresh code, or with the ticket a USER_NOT_REGISTERED login handed out. */
export async function register(deps: AuthDeps, input: RegisterInput, appId: string | undefined, client: ClientInfo): Promise<RegisterOutput> {
  const session = input.registrationTicket
    ? await peekRegistrationTicket(deps.tickets, input.registrationTicket)
    : await exchangeCode(deps, appId, input.code!);
  const profile = verifyUserData(deps, input, session);
  if (await findUserId(deps, session)) throw userExists();
  if (input.registrationTicket) await claimRegistrationTicket(deps.tickets, input.registrationTicket);

  const fields = { ...profileUpdate(profile, input.profile), lastLoginAt: deps.now(), ...(session.unionId ? { unionId: session.unionId } : {}) };
  let created: StoredUser;
  try {
    const doc = await deps.db.User.create({ openId: session.openId, registeredAppId: session.appId, status: 'active', ...fields });
    created = doc.toObject() as StoredUser;
  } catch (err) {
    if (isDuplicateKey(err)) throw userExists();
    throw err;
  }
  return { userId: String(created._id), createdAt: created.createdAt, ...(await signIn(deps, created, session, client)) };
}

const userExists = () => new AppError('USER_EXISTS', 'This WeChat user is already registered; log in instead');

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
    throw user ? banned() : new AppError('USER_NOT_FOUND', 'This account no longer exists');
  }
  return {
    ...deps.tokens.issue({ userId: next.userId, sessionId: next.sessionId, appId: next.appId, openId: next.openId }),
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
