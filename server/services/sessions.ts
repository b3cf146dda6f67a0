import { setTimeout as sleep } from 'node:timers/promises';
import type { SessionOutput } from '../../shared';
import { Types } from 'mongoose';
import type { Database } from '../db/connection';
import type { UserStore } from '../data/users';
import type { InsertBatcher } from '../infra/perf/insertBatcher';
import type { ReadBatcher } from '../infra/perf/readBatcher';
import type { RevokedReason, SessionDocument } from '../db/models/session';
import { AppError } from '../errors';
import { constantTimeEqual } from '../secrets/constantTimeEqual';
import { newRefreshToken, newSessionId, parseRefreshToken } from '../tokens/refreshToken';
import { claimOnce } from './claims';
import { deleteEndedSessionRefs, listedSessions } from './sessionLists';

/**
 * Sessions: one document per login, keyed by its id, found by `_id` on every hot path. A refresh
 * token is `wxr_<sessionId>.<secret>`; the document keeps the SHA-256 of the current secret and
 * of the one rotated last. Showing the rotated one again revokes the session: only a copy of the
 * token can do that.
 *
 * Who may write a session document, and in what order. The embedded database (FerretDB v1)
 * applies an update by reading the document and writing the whole of it back, with nothing in
 * between held: two concurrent updates of one document can both match, and the later write undoes
 * the earlier (a refresh could bring a logged-out session back). So every write after the insert
 * raises `generation` by one, and a writer first claims the generation it is going to write with a
 * unique insert (`session:<id>:<generation>`), the one write that is atomic on every database.
 * Writes of one session are thereby totally ordered: a writer of generation g+1 read the document
 * at g, after g's writer was done. A rotation claims the generation after the one it read; losing
 * it means another request used the same token at that moment (reuse) or the session is ending.
 * An ending (logout, logoutAll, admin revocation, ban, reuse) claims the next generation nobody
 * holds, waits until the document reaches the one before it, and writes the revocation: no
 * rotation can write after it, so none outlives it. On MongoDB the conditional updates are atomic
 * anyway; the same code runs on both.
 *
 * logoutAll, bans and admin revocations also set the user's `sessionsValidAfter`: sessions started
 * before it are over whatever their documents say (a session missing from the user's list, or one
 * being started at that moment).
 */
export interface SessionDeps {
  db: Database;
  now: () => Date;
  refreshTokenTtlS: number;
  maxAgeS: number;
  /** Inserts session documents, many logins to a round trip (see server/infra/perf/insertBatcher.ts). */
  inserts: InsertBatcher<SessionDocument>;
  /** Reads session documents by _id, many requests to a round trip (server/infra/perf/readBatcher.ts). */
  reads: ReadBatcher<SessionDocument>;
  /** The same, with only what an authenticated call's check needs (`sessionCheckProjection`). */
  checks: ReadBatcher<SessionCheckFields>;
  /** The users: logoutAll's cut-off is written through them, so their cache shows it at once. */
  users: UserStore;
  /** Told whenever an ending of a session is done, so caches drop it at once (server/appServices.ts). */
  onSessionEnded?: (sessionId: string) => void;
}

export interface ClientInfo {
  userAgent?: string | undefined;
  ip?: string | undefined;
}

export interface IssuedRefreshToken {
  sessionId: string;
  appId: string;
  openId: string;
  refreshToken: string;
  refreshExpiresIn: number;
}

/** A generation claim is needed only while its contenders are in flight; then the cleanup removes it. */
const GENERATION_CLAIM_TTL_MS = 60_000;
/**
 * How long an ending waits for a rotation that claimed a generation to write it. Past this the
 * rotating request is taken for dead (its process stopped between its two writes) and the ending
 * is written anyway: should the rotation write after all, it sets only the token fields, so the
 * session stays ended (only two writes interleaving inside the embedded database could undo it).
 */
const ENDING_WAIT_MS = 5_000;

const clip = (value: string | undefined, max: number) => (value ? value.slice(0, max) : null);
const seconds = (from: Date, to: Date) => Math.max(1, Math.floor((to.getTime() - from.getTime()) / 1000));
const generationKey = (sessionId: string, generation: number) => `session:${sessionId}:${generation}`;

const invalid = () => new AppError('REFRESH_TOKEN_INVALID', 'The refresh token is invalid or its session has ended; log in again');
const expired = () => new AppError('REFRESH_TOKEN_EXPIRED', 'The refresh token has expired; log in again');
const reused = () => new AppError('REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session is revoked for safety. Log in again');

/** A login or registration starts a session; it keeps the session_key of that login (sealed). */
export async function startSession(
  deps: SessionDeps,
  who: { userId: Types.ObjectId | string; appId: string; openId: string; sessionKeyEnc: string | null },
  client: ClientInfo,
): Promise<IssuedRefreshToken> {
  const now = deps.now();
  const userId = new Types.ObjectId(String(who.userId));
  // Its id starts with the user's: the session is in its user's list without another write.
  const sessionId = newSessionId(userId.toHexString());
  const { token, secretHash } = newRefreshToken(sessionId);
  const endsAt = new Date(now.getTime() + deps.maxAgeS * 1000);
  const expiresAt = new Date(Math.min(now.getTime() + deps.refreshTokenTtlS * 1000, endsAt.getTime()));
  // Every field of the schema: the batcher writes the document as it is.
  await deps.inserts.insert({
    _id: sessionId,
    userId,
    appId: who.appId,
    openId: who.openId,
    tokenHash: secretHash,
    previousHash: null,
    generation: 0,
    createdAt: now,
    lastUsedAt: now,
    expiresAt,
    endsAt,
    userAgent: clip(client.userAgent, 256),
    ip: clip(client.ip, 64),
    revokedAt: null,
    revokedReason: null,
    sessionKeyEnc: who.sessionKeyEnc,
  });
  return { sessionId, appId: who.appId, openId: who.openId, refreshToken: token, refreshExpiresIn: seconds(now, expiresAt) };
}

/** Whether sessions started at `createdAt` were ended by the user-wide cut-off. */
export const endedByUser = (createdAt: Date, user: { sessionsValidAfter?: Date | null }) =>
  user.sessionsValidAfter != null && createdAt.getTime() <= user.sessionsValidAfter.getTime();

/** The session a refresh token names, and the hash the token must match. */
async function sessionOf(deps: SessionDeps, token: string) {
  const parsed = parseRefreshToken(token);
  if (!parsed) throw invalid();
  if (parsed.kind === 'session') return { sessionId: parsed.sessionId, presented: parsed.secretHash };
  const migrated = await deps.db.LegacyRefreshToken.findById(parsed.tokenHash).lean();
  if (!migrated) throw invalid();
  return { sessionId: migrated.sessionId, presented: parsed.tokenHash };
}

/**
 * Uses a refresh token up and issues the next one of its session: one read of the session and one
 * of the user (both by _id), the generation claim, one update. A banned or deleted user's refresh
 * fails and ends every session they have.
 */
export async function rotateRefreshToken(deps: SessionDeps, token: string, client: ClientInfo): Promise<IssuedRefreshToken & { userId: string }> {
  const now = deps.now();
  const { sessionId, presented } = await sessionOf(deps, token);
  const session = await deps.reads.byId(sessionId);
  if (!session) throw invalid();
  if (!constantTimeEqual(presented, session.tokenHash)) {
    // The token rotated last: a copy is in use (the session may have ended for it already, when
    // several copies arrive at once).
    if (session.previousHash != null && constantTimeEqual(presented, session.previousHash)) {
      if (session.revokedAt == null) await endSessionForGood(deps, sessionId, 'reuse_detected');
      throw reused();
    }
    throw invalid();
  }
  if (session.revokedAt != null) throw invalid();
  if (session.expiresAt <= now) throw expired();

  const generation = session.generation + 1;
  const [won, user] = await Promise.all([
    claimOnce(deps.db, generationKey(sessionId, generation), new Date(now.getTime() + GENERATION_CLAIM_TTL_MS), 'rotate'),
    deps.users.read(String(session.userId)),
  ]);
  if (!won) {
    // Another request wrote this generation first: the same token twice at once (a copy is in
    // use, as with a rotated token), or the session is ending right now.
    const winner = await deps.db.Claim.findById(generationKey(sessionId, generation), { by: 1 }).lean();
    if (winner?.by === 'rotate') {
      await endSessionForGood(deps, sessionId, 'reuse_detected');
      throw reused();
    }
    throw invalid();
  }

  const userId = String(session.userId);
  if (!user || user.status === 'banned' || endedByUser(session.createdAt, user)) {
    // This request holds the next generation: it writes the ending itself (an ending that waited
    // for it would wait for nothing).
    const reason: RevokedReason = !user ? 'user_gone' : user.status === 'banned' ? 'user_banned' : 'logout_all';
    await writeEnding(deps, sessionId, generation, reason);
    if (!user || user.status === 'banned') {
      await endAllSessions(deps, userId, reason);
      throw user ? new AppError('USER_BANNED', 'This account is banned') : new AppError('USER_NOT_FOUND', 'This account no longer exists');
    }
    throw invalid();
  }

  const next = newRefreshToken(sessionId);
  const expiresAt = new Date(Math.min(now.getTime() + deps.refreshTokenTtlS * 1000, session.endsAt.getTime()));
  // By _id alone: the embedded database answers only that filter from an index (any other key
  // makes it read the whole collection). The generation claim already made this write the only
  // one of its generation. Even written late (after an ending gave up waiting for it) it leaves
  // the ending in place: it sets the token fields only. Straight through the driver: mongoose's
  // casting of the update cost more of our CPU than the driver's round trip.
  await deps.db.Session.collection.updateOne(
    { _id: sessionId as never },
    {
      $set: {
        tokenHash: next.secretHash,
        previousHash: session.tokenHash,
        generation,
        lastUsedAt: now,
        expiresAt,
        userAgent: clip(client.userAgent, 256),
        ip: clip(client.ip, 64),
      },
    },
  );
  return { sessionId, userId, appId: session.appId, openId: session.openId, refreshToken: next.token, refreshExpiresIn: seconds(now, expiresAt) };
}

/** Writes the ending as generation `generation` (claimed by the caller), by _id alone. */
async function writeEnding(deps: SessionDeps, sessionId: string, generation: number, reason: RevokedReason) {
  await deps.db.Session.updateOne({ _id: sessionId }, { $set: { revokedAt: deps.now(), revokedReason: reason, generation } });
}

/** Endings in flight in this process, by session: a second one joins the first. */
const endingsInFlight = new Map<string, Promise<boolean>>();

/**
 * Ends a session for good, whatever rotation is in flight (see the header comment). Returns true
 * when it was live (neither ended nor expired) until now. With `userId`, only a session of theirs.
 */
export function endSessionForGood(deps: SessionDeps, sessionId: string, reason: RevokedReason, userId?: string): Promise<boolean> {
  // Already ending here (a batch of logouts, logoutAll on two devices): the session has one user,
  // and it ends either way.
  const inFlight = endingsInFlight.get(sessionId);
  if (inFlight) return inFlight;
  const ending = endOnce(deps, sessionId, reason, userId).finally(() => {
    endingsInFlight.delete(sessionId);
    // Whatever this ending found (ended now, by another, or long ago): no cache may say it is live.
    deps.onSessionEnded?.(sessionId);
  });
  endingsInFlight.set(sessionId, ending);
  return ending;
}

async function endOnce(deps: SessionDeps, sessionId: string, reason: RevokedReason, userId: string | undefined): Promise<boolean> {
  const read = () => deps.reads.byId(sessionId);
  let session = await read();
  if (!session || (userId !== undefined && String(session.userId) !== userId) || session.revokedAt != null) return false;
  const wasLive = session.expiresAt > deps.now();

  // The next generation nobody holds: rotations hold at most one past the document's, so this
  // takes a claim or two, even against a client refreshing back to back. Held by another ending
  // (another instance, or a batch of logouts): that one writes it; wait for it.
  let generation = session.generation + 1;
  const claimUntil = new Date(deps.now().getTime() + GENERATION_CLAIM_TTL_MS);
  let waitingFor: 'rotation' | 'ending' = 'rotation';
  while (!(await claimOnce(deps.db, generationKey(sessionId, generation), claimUntil, 'revoke'))) {
    const holder = await deps.db.Claim.findById(generationKey(sessionId, generation), { by: 1 }).lean();
    if (holder?.by === 'revoke') {
      waitingFor = 'ending';
      break;
    }
    generation++;
  }

  // Earlier generations are written first; a generation held by a dead request never is.
  const deadline = Date.now() + ENDING_WAIT_MS;
  const done = () => (waitingFor === 'ending' ? false : session!.generation >= generation - 1);
  for (let pause = 2; !done() && Date.now() < deadline; pause = Math.min(50, pause * 2)) {
    await sleep(pause);
    session = await read();
    if (!session || session.revokedAt != null) return wasLive;
  }
  // The other ending never came (its process stopped): write one after all, as the next generation.
  await writeEnding(deps, sessionId, waitingFor === 'ending' ? generation + 1 : generation, reason);
  return wasLive;
}

/** Ends one session of a user (logout); false when it was not a live session of theirs. */
export function endSession(deps: SessionDeps, userId: string, sessionId: string): Promise<boolean> {
  return endSessionForGood(deps, sessionId, 'logout', userId);
}

/**
 * Ends every session of a user: the user-wide cut-off first (it covers every session, listed or
 * not), then each listed session's document. Returns how many were live.
 */
export async function endAllSessions(deps: SessionDeps, userId: string, reason: RevokedReason = 'logout_all'): Promise<number> {
  if (!Types.ObjectId.isValid(userId)) return 0;
  await deps.users.update({ _id: userId }, { sessionsValidAfter: deps.now() });
  const listed = await listedSessions(deps, userId);
  const ended = await Promise.all(listed.map((s) => endSessionForGood(deps, s._id, reason, userId)));
  return ended.filter(Boolean).length;
}

/**
 * What the check of an authenticated call reads of its session. That read is the one an uncached
 * call adds to every request; the rest of the document (hashes, the sealed session_key, the client
 * info) is most of its bytes, for both databases to encode and for us to decode.
 */
export const sessionCheckProjection = { userId: 1, createdAt: 1, expiresAt: 1, revokedAt: 1 } as const;
export type SessionCheckFields = Pick<SessionDocument, '_id' | keyof typeof sessionCheckProjection>;

/** What an authenticated call needs to know of its token's session (one read by _id, batched). */
export async function sessionState(deps: Pick<SessionDeps, 'checks' | 'now'>, sessionId: string): Promise<{ live: boolean; userId: string | null; createdAt: Date | null }> {
  const session = await deps.checks.byId(sessionId);
  if (!session) return { live: false, userId: null, createdAt: null };
  return { live: session.revokedAt == null && session.expiresAt > deps.now(), userId: String(session.userId), createdAt: session.createdAt };
}

/** The newest session_key of a user in an app, sealed: the one of their latest login there. */
export async function latestSessionKeyEnc(deps: Pick<SessionDeps, 'db' | 'now'>, who: { userId: string; appId: string; openId: string }): Promise<string | null> {
  const inApp = (await listedSessions(deps, who.userId)).filter((s) => s.appId === who.appId && s.openId === who.openId && s.sessionKeyEnc);
  const newest = inApp.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  return newest?.sessionKeyEnc ?? null;
}

/** The user's live sessions, most recently used first. */
export async function listSessions(deps: SessionDeps, userId: string, currentSessionId: string): Promise<SessionOutput[]> {
  const now = deps.now();
  const listed = await listedSessions(deps, userId);
  return listed
    .filter((s) => s.revokedAt == null && s.expiresAt > now)
    .sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime())
    .map((s) => ({ ...seenByUser(s), current: s._id === currentSessionId }));
}

/** What its user is shown of a session (shared/schemas/session.ts sessionSeenByUser): user.sessions and the data export. */
export function seenByUser(s: SessionDocument) {
  return { id: s._id, createdAt: s.createdAt, lastUsedAt: s.lastUsedAt, expiresAt: s.expiresAt, userAgent: s.userAgent ?? null, ip: s.ip ?? null };
}

/**
 * The periodic cleanup (no TTL indexes in the embedded database): sessions whose refresh token
 * has expired can do nothing more, references past their session's end list nothing, and migrated
 * tokens past their expiry mean nothing.
 */
export async function deleteExpiredSessions(deps: Pick<SessionDeps, 'db' | 'now'>): Promise<number> {
  const now = deps.now();
  const [{ deletedCount }] = await Promise.all([
    deps.db.Session.deleteMany({ expiresAt: { $lte: now } }),
    deleteEndedSessionRefs(deps),
    deps.db.LegacyRefreshToken.deleteMany({ expiresAt: { $lte: now } }),
  ]);
  return deletedCount;
}
