import type { LoginInput, LoginOutput, RefreshOutput, RegisterInput, RegisterOutput } from '../../shared';
import type { AvatarUrls } from '../avatars/avatarUrls';
import type { GatewayCaller } from '../cloudHosting/gatewayHeaders';
import { gatewaySession, sessionKeyUnavailable } from '../cloudHosting/gatewaySession';
import type { Database } from '../db/connection';
import type { UserStore } from '../data/users';
import type { Logger } from '../logger';
import { identityId } from '../db/models/identity';
import { AppError, isDuplicateKey } from '../errors';
import type { RateLimiter } from '../rateLimit/limiter';
import type { SecretBox } from '../secrets/secretBox';
import type { AccessTokens } from '../tokens/accessToken';
import { code2Session } from '../wechat/code2Session';
import type { WeChatHttpOptions } from '../wechat/requestJson';
import { verifiedUserData, type UserDataInput, type WeChatProfile } from '../wechat/userData';
import { refuseIfDeletionPending } from './accountDeletionRefusal';
import { recordIdentity, userIdOfIdentity, type IdentityCache } from './identities';
import { checkConsent, recordRegistrationConsents, type ConsentDeps } from './consents';
import type { PrincipalCache } from './principals';
import { claimRegistrationTicket, issueRegistrationTicket, peekRegistrationTicket, type TicketDeps } from './registrationTickets';
import { endAllSessions, endSession, rotateRefreshToken, startSession, type ClientInfo, type SessionDeps } from './sessions';
import { profileUpdate, toUserOutput, type StoredUser } from './users';
import type { AppSession, WeChatApps } from './wechatApps';

export interface AuthDeps {
  db: Database;
  box: SecretBox;
  tokens: AccessTokens;
  /** cloudHosting: identities come from WeChat Cloud Hosting's gateway, not from a wx.login code. */
  wechat: { apps: WeChatApps; http: WeChatHttpOptions; watermarkMaxAgeS: number; cloudHosting: boolean };
  registration: 'explicit' | 'auto';
  tickets: TicketDeps;
  sessions: SessionDeps;
  principals: PrincipalCache;
  users: UserStore;
  /** CONSENT_VERSIONS and the consent records: auth.register records the consent it is sent. */
  consents: ConsentDeps;
  identities: IdentityCache;
  limiter: RateLimiter;
  avatarUrls: AvatarUrls;
  logger: Logger;
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

/**
 * Who logs in or registers: on Cloud Hosting the user the gateway names (a code, if sent, is not
 * needed and is ignored), elsewhere code2Session of the wx.login code.
 */
export async function wechatSessionOf(deps: AuthDeps, appId: string | undefined, code: string | undefined, caller: GatewayCaller | undefined): Promise<AppSession> {
  if (!deps.wechat.cloudHosting) {
    if (code === undefined) throw invalidInput('code', 'invalid_type', 'Invalid input: expected string, received undefined');
    return exchangeCode(deps, appId, code);
  }
  const session = gatewaySession(deps.wechat.apps, caller);
  await deps.limiter.check('openid', session.openId);
  return session;
}

/** The schema leaves `code` optional for Cloud Hosting; everywhere else a missing one fails like a schema check. */
const invalidInput = (field: string, code: string, message: string) =>
  new AppError('INVALID_INPUT', `Invalid input: ${field}: ${message}`, { issues: [{ path: [field], message, code }] });

/**
 * The profile in the verified user data, and the session with its unionId: code2Session's, else
 * the one in the verified encrypted data. When both are there and differ, code2Session's wins
 * (it comes straight from WeChat's server) and the difference is logged. A Cloud Hosting login
 * has no session_key to verify anything with.
 */
function verifyUserData(deps: AuthDeps, input: UserDataInput, session: AppSession): { profile: WeChatProfile | null; session: AppSession } {
  if (session.sessionKey === null) {
    const sent = input.encryptedData ?? input.iv ?? input.rawData ?? input.signature;
    if (sent !== undefined) throw sessionKeyUnavailable();
    return { profile: null, session };
  }
  const { profile, unionId } = verifiedUserData(input, session.sessionKey, session.openId, {
    appId: session.appId,
    maxAgeS: deps.wechat.watermarkMaxAgeS,
    nowS: Math.floor(deps.now().getTime() / 1000),
  });
  if (unionId && session.unionId && unionId !== session.unionId) {
    deps.logger.warn({ appId: session.appId, openId: session.openId }, "the unionId in the encrypted user data differs from code2Session's; code2Session's is kept");
  }
  return { profile, session: unionId && !session.unionId ? { ...session, unionId } : session };
}

/**
 * A new session for this user in this app: the access token names it, the refresh token continues
 * it, and it keeps this login's session_key. The identity is made if this is the user's first
 * login in this app.
 */
async function signIn(deps: AuthDeps, user: StoredUser, session: AppSession, client: ClientInfo) {
  await recordIdentity(deps, session, user._id);
  const started = await startSession(
    deps.sessions,
    {
      userId: user._id,
      appId: session.appId,
      openId: session.openId,
      sessionKeyEnc: session.sessionKey === null ? null : deps.box.seal(session.sessionKey),
    },
    client,
  );
  return {
    ...deps.tokens.issue({ userId: String(user._id), sessionId: started.sessionId, appId: session.appId, openId: session.openId }),
    refreshToken: started.refreshToken,
    refreshExpiresIn: started.refreshExpiresIn,
    user: toUserOutput(user, session.openId, deps.avatarUrls),
  };
}

/**
 * lastLoginAt is kept to the minute: a returning user whose profile did not change and who
 * logged in less than a minute ago costs the login no write to their user document.
 */
const LAST_LOGIN_PRECISION_MS = 60_000;

/** The fields a login sets on the user, when any of them differs from what is stored. */
function loginChanges(user: StoredUser, $set: Record<string, unknown>, now: Date): Record<string, unknown> | null {
  const stored = user as unknown as Record<string, unknown>;
  const changed = Object.entries($set).some(([key, value]) => stored[key] !== value);
  const lastLoginMs = user.lastLoginAt ? user.lastLoginAt.getTime() : 0;
  if (!changed && now.getTime() - lastLoginMs < LAST_LOGIN_PRECISION_MS) return null;
  return { ...$set, lastLoginAt: now };
}

/**
 * The user this WeChat session belongs to, if any: by its identity in this app, else (first
 * visit to this app) by unionId, which links the apps of one Open Platform account.
 */
export async function findUserId(deps: AuthDeps, session: AppSession): Promise<string | null> {
  const known = await userIdOfIdentity(deps, session);
  if (known) return known;
  return session.unionId ? userIdByUnionId(deps, session.unionId) : null;
}

async function userIdByUnionId(deps: AuthDeps, unionId: string): Promise<string | null> {
  const linked = await deps.db.User.findOne({ unionId }, { _id: 1 }).lean();
  return linked ? String(linked._id) : null;
}

/**
 * auth.login: the code alone is enough; signed or encrypted profile data, when sent, is verified
 * against this code's session_key and refreshes the profile.
 *
 * A returning user's login costs one read of the user by _id (so a ban made anywhere applies at
 * once) and one database write, the session (batched with other logins): the identity comes
 * from this process's cache (identities never change), and the user is written only when the
 * profile changed or lastLoginAt is more than a minute old.
 */
export async function login(
  deps: AuthDeps,
  input: LoginInput,
  appId: string | undefined,
  client: ClientInfo,
  caller?: GatewayCaller,
): Promise<LoginOutput> {
  const { profile, session } = verifyUserData(deps, input, await wechatSessionOf(deps, appId, input.code, caller));
  const $set: Record<string, unknown> = { ...profileUpdate(profile, undefined), ...(session.unionId ? { unionId: session.unionId } : {}) };

  const linked = await findUserId(deps, session);
  if (linked) {
    // Read, not cached: a ban made anywhere (another instance, the admin CLI) refuses the next
    // login at once. One read by _id; authenticated calls keep the AUTH_CACHE_TTL_S bound.
    const user = await deps.users.read(linked);
    if (user?.status === 'banned') throw banned();
    if (user) await refuseIfDeletionPending(deps, user);
    const current = user && (await applyLoginChanges(deps, user, $set));
    if (current === 'banned') throw banned();
    if (current) return { ...(await signIn(deps, current, session, client)), isNewUser: false };
    // An identity whose user was deleted: the person starts over.
    deps.identities.delete(identityId(session.appId, session.openId));
    await deps.db.Identity.deleteOne({ _id: identityId(session.appId, session.openId) });
  }

  if (deps.registration === 'explicit') {
    const registrationTicket = await issueRegistrationTicket(deps.tickets, session);
    throw new AppError('USER_NOT_REGISTERED', 'No account for this WeChat user yet; register with the registration ticket', {
      registrationTicket,
    });
  }
  const { user, created } = await createUser(deps, session, { ...$set, lastLoginAt: deps.now() });
  if (!created && user.status === 'banned') throw banned();
  if (!created) await refuseIfDeletionPending(deps, user);
  return { ...(await signIn(deps, user, session, client)), isNewUser: created };
}

/** Writes what this login changes on the user, if anything; null when the user is gone. */
async function applyLoginChanges(deps: AuthDeps, user: StoredUser, $set: Record<string, unknown>): Promise<StoredUser | 'banned' | null> {
  const changes = loginChanges(user, $set, deps.now());
  if (!changes) return user;
  // By _id alone: the lookup every database (the embedded one included) answers from an index.
  const updated = await deps.users.update({ _id: user._id }, changes);
  if (!updated) return null;
  return updated.status === 'banned' ? 'banned' : updated;
}

/**
 * Creates the user of a first login. The unique openId index settles simultaneous first logins:
 * one insert wins; the others find the winner's user.
 */
async function createUser(deps: AuthDeps, session: AppSession, fields: object): Promise<{ user: StoredUser; created: boolean }> {
  try {
    const user = await deps.users.create({ openId: session.openId, registeredAppId: session.appId, status: 'active', ...fields });
    return { user, created: true };
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const existing = await deps.users.update({ openId: session.openId }, { ...fields });
    if (!existing) throw err;
    return { user: existing, created: false };
  }
}

/**
 * auth.register: with a fresh code, or with the ticket a USER_NOT_REGISTERED login handed out; on
 * Cloud Hosting with neither (the gateway names the user) or with a ticket of that same user.
 */
export async function register(
  deps: AuthDeps,
  input: RegisterInput,
  appId: string | undefined,
  client: ClientInfo,
  caller?: GatewayCaller,
): Promise<RegisterOutput> {
  if (!deps.wechat.cloudHosting && input.registrationTicket === undefined && input.code === undefined) {
    throw invalidInput('code', 'custom', 'send exactly one of code or registrationTicket');
  }
  // Refused before anything is written: a registration never half-records its consent.
  for (const consent of input.consents ?? []) checkConsent(deps.consents.versions, consent);
  const { profile, session } = verifyUserData(
    deps,
    input,
    input.registrationTicket ? await ticketSession(deps, input.registrationTicket, caller) : await wechatSessionOf(deps, appId, input.code, caller),
  );
  const existing = await findUserId(deps, session);
  if (existing) {
    const user = await deps.users.read(existing);
    if (user) await refuseIfDeletionPending(deps, user);
    throw userExists();
  }
  if (input.registrationTicket) await claimRegistrationTicket(deps.tickets, input.registrationTicket);

  const fields = { ...profileUpdate(profile, input.profile), lastLoginAt: deps.now(), ...(session.unionId ? { unionId: session.unionId } : {}) };
  let created: StoredUser;
  try {
    created = await deps.users.create({ openId: session.openId, registeredAppId: session.appId, status: 'active', ...fields });
  } catch (err) {
    if (isDuplicateKey(err)) throw userExists();
    throw err;
  }
  await recordRegistrationConsents(deps.consents, String(created._id), session.appId, input.consents ?? []);
  return { userId: String(created._id), createdAt: created.createdAt, ...(await signIn(deps, created, session, client)) };
}

/** The WeChat user a ticket stands for; on Cloud Hosting it must be the one the gateway names now. */
async function ticketSession(deps: AuthDeps, ticket: string, caller: GatewayCaller | undefined): Promise<AppSession> {
  const session = await peekRegistrationTicket(deps.tickets, ticket);
  if (deps.wechat.cloudHosting) {
    const now = gatewaySession(deps.wechat.apps, caller);
    if (now.appId !== session.appId || now.openId !== session.openId) {
      throw new AppError('REGISTRATION_TICKET_INVALID', 'The registration ticket is unknown, used or expired; log in again');
    }
  }
  return session;
}

const userExists = () => new AppError('USER_EXISTS', 'This WeChat user is already registered; log in instead');

/**
 * auth.refresh: rotates the refresh token and issues a new access token for the same session.
 * A banned or deleted user's refresh fails at once and ends their sessions (the rotation reads
 * the user).
 */
export async function refresh(deps: AuthDeps, refreshToken: string, client: ClientInfo): Promise<RefreshOutput> {
  const next = await rotateRefreshToken(deps.sessions, refreshToken, client);
  return {
    ...deps.tokens.issue({ userId: next.userId, sessionId: next.sessionId, appId: next.appId, openId: next.openId }),
    refreshToken: next.refreshToken,
    refreshExpiresIn: next.refreshExpiresIn,
  };
}

/** auth.logout: ends the session of the access token that asks. */
export async function logout(deps: AuthDeps, userId: string, sessionId: string): Promise<{ ok: true }> {
  await endSession(deps.sessions, userId, sessionId);
  return { ok: true };
}

/** auth.logoutAll: ends every session of the user, on every device. */
export async function logoutAll(deps: AuthDeps, userId: string): Promise<{ revokedSessions: number }> {
  const revokedSessions = await endAllSessions(deps.sessions, userId);
  return { revokedSessions };
}
