import { createHash, randomBytes } from 'node:crypto';
import type { SessionOutput } from '../../shared';
import { Types } from 'mongoose';
import type { Database } from '../db/connection';
import type { InsertBatcher } from '../db/insertBatcher';
import type { RevokedReason, SessionDocument } from '../db/models/session';
import { AppError } from '../errors';
import { claimOnce } from './claims';

/**
 * Sessions are refresh token families. A refresh token is 256 random bits shown to the client
 * once; the database keeps only its SHA-256. Every refresh rotates it; showing a rotated token
 * again revokes the whole family, because only a copy of the token can do that.
 */
export interface SessionDeps {
  db: Database;
  now: () => Date;
  refreshTokenTtlS: number;
  maxAgeS: number;
  /** Inserts session documents, many logins to a round trip (see server/db/insertBatcher.ts). */
  inserts: InsertBatcher<SessionDocument>;
  /** Told when reuse detection revokes a family, so caches can drop it at once. */
  onFamilyRevoked?: (familyId: string) => void;
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

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
const newRefreshToken = () => `wxr_${randomBytes(32).toString('base64url')}`;
const clip = (value: string | undefined, max: number) => (value ? value.slice(0, max) : null);

async function insertToken(
  deps: SessionDeps,
  fields: {
    userId: Types.ObjectId | string;
    appId: string;
    openId: string;
    familyId: string;
    familyCreatedAt: Date;
    sessionKeyEnc: string | null;
    client: ClientInfo;
  },
): Promise<IssuedRefreshToken> {
  const now = deps.now();
  const expiresAt = new Date(Math.min(now.getTime() + deps.refreshTokenTtlS * 1000, fields.familyCreatedAt.getTime() + deps.maxAgeS * 1000));
  const refreshToken = newRefreshToken();
  // Every field of the schema, defaults and timestamp included: the batcher writes it as it is.
  await deps.inserts.insert({
    _id: new Types.ObjectId(),
    tokenHash: hashToken(refreshToken),
    familyId: fields.familyId,
    userId: new Types.ObjectId(String(fields.userId)),
    appId: fields.appId,
    openId: fields.openId,
    familyCreatedAt: fields.familyCreatedAt,
    lastUsedAt: now,
    expiresAt,
    userAgent: clip(fields.client.userAgent, 256),
    ip: clip(fields.client.ip, 64),
    revokedAt: null,
    revokedReason: null,
    sessionKeyEnc: fields.sessionKeyEnc,
    createdAt: now,
  });
  return {
    sessionId: fields.familyId,
    appId: fields.appId,
    openId: fields.openId,
    refreshToken,
    refreshExpiresIn: Math.max(1, Math.floor((expiresAt.getTime() - now.getTime()) / 1000)),
  };
}

/** A login or registration starts a session; it keeps the session_key of that login (sealed). */
export function startSession(
  deps: SessionDeps,
  who: { userId: Types.ObjectId | string; appId: string; openId: string; sessionKeyEnc: string | null },
  client: ClientInfo,
): Promise<IssuedRefreshToken> {
  return insertToken(deps, { ...who, familyId: randomBytes(16).toString('base64url'), familyCreatedAt: deps.now(), client });
}

/**
 * Uses a refresh token up and issues the next one of its family. Returns the user it belongs to;
 * the caller checks that user may still act.
 */
export async function rotateRefreshToken(deps: SessionDeps, token: string, client: ClientInfo): Promise<IssuedRefreshToken & { userId: string }> {
  const now = deps.now();
  const tokenHash = hashToken(token);
  let used = await deps.db.Session.findOne({ tokenHash, revokedAt: null, expiresAt: { $gt: now } }).lean();
  // Only the first use of a token may rotate it, even when two arrive at once.
  if (used && !(await claimOnce(deps.db, `refresh:${tokenHash}`, used.expiresAt))) used = null;
  if (used) {
    await deps.db.Session.updateOne({ _id: used._id }, { $set: { revokedAt: now, revokedReason: 'rotated', lastUsedAt: now } });
  }

  if (!used) {
    const seen = await deps.db.Session.findOne({ tokenHash }, { familyId: 1, familyCreatedAt: 1, revokedAt: 1, revokedReason: 1, expiresAt: 1 }).lean();
    if (seen && (seen.revokedReason === 'rotated' || !seen.revokedAt) && seen.expiresAt > now) {
      // Rotated before, or being rotated right now by a concurrent request: a copy is in use.
      await claimOnce(deps.db, familyRevokedMark(seen.familyId), new Date(seen.familyCreatedAt.getTime() + deps.maxAgeS * 1000));
      await revokeFamily(deps, seen.familyId, 'reuse_detected');
      deps.onFamilyRevoked?.(seen.familyId);
      throw reused();
    }
    if (seen && !seen.revokedAt && seen.expiresAt <= now) {
      throw new AppError('REFRESH_TOKEN_EXPIRED', 'The refresh token has expired; log in again');
    }
    throw new AppError('REFRESH_TOKEN_INVALID', 'The refresh token is invalid or its session has ended; log in again');
  }

  const next = await insertToken(deps, {
    userId: used.userId,
    appId: used.appId,
    openId: used.openId,
    familyId: used.familyId,
    familyCreatedAt: used.familyCreatedAt,
    sessionKeyEnc: used.sessionKeyEnc ?? null,
    client,
  });
  // A concurrent reuse, logout or revocation may have ended the family before our new token
  // existed: each marks the family before it revokes its tokens, so looking for the marks after
  // our insert cannot miss them.
  const [reuse, ended] = await Promise.all([
    deps.db.Claim.exists({ _id: familyRevokedMark(used.familyId) }),
    deps.db.Claim.exists({ _id: familyEndedMark(used.familyId) }),
  ]);
  if (reuse || ended) {
    await revokeFamily(deps, used.familyId, reuse ? 'reuse_detected' : 'logout');
    throw reuse ? reused() : sessionEnded();
  }
  return { ...next, userId: String(used.userId) };
}

const reused = () => new AppError('REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session is revoked for safety. Log in again');
const sessionEnded = () => new AppError('REFRESH_TOKEN_INVALID', 'The refresh token is invalid or its session has ended; log in again');
const familyRevokedMark = (familyId: string) => `family-revoked:${familyId}`;
/** Set by logout, logoutAll, admin revocation and bans before they revoke a family's tokens. */
const familyEndedMark = (familyId: string) => `family-ended:${familyId}`;

/** Marks the families ended (see rotateRefreshToken), then revokes every token they have. */
async function endFamilies(deps: SessionDeps, familyIds: string[], filter: object, reason: RevokedReason) {
  const until = new Date(deps.now().getTime() + deps.maxAgeS * 1000);
  await Promise.all(familyIds.map((familyId) => claimOnce(deps.db, familyEndedMark(familyId), until)));
  return deps.db.Session.updateMany({ ...filter, revokedAt: null }, { $set: { revokedAt: deps.now(), revokedReason: reason } });
}

function revokeFamily(deps: SessionDeps, familyId: string, reason: RevokedReason) {
  return deps.db.Session.updateMany({ familyId, revokedAt: null }, { $set: { revokedAt: deps.now(), revokedReason: reason } });
}

/** Ends one session of a user; false when it was not a live session of theirs. */
export async function endSession(deps: SessionDeps, userId: string, sessionId: string): Promise<boolean> {
  const { modifiedCount } = await endFamilies(deps, [sessionId], { familyId: sessionId, userId }, 'logout');
  return modifiedCount > 0;
}

/** Ends every session of a user; returns how many sessions that was. */
export async function endAllSessions(deps: SessionDeps, userId: string, reason: RevokedReason = 'logout_all'): Promise<number> {
  const now = deps.now();
  // Families whose current token is being rotated right now have no live token for a moment:
  // every unexpired family is marked, rotated tokens included.
  const [live, unexpired] = await Promise.all([
    deps.db.Session.distinct('familyId', { userId, revokedAt: null, expiresAt: { $gt: now } }),
    deps.db.Session.distinct('familyId', { userId, expiresAt: { $gt: now } }),
  ]);
  await endFamilies(deps, unexpired, { userId }, reason);
  return live.length;
}

/**
 * The newest session_key of a user in an app, sealed: the one of their latest login (rotations
 * carry their login's key and time along, so they do not count as newer).
 */
export async function latestSessionKeyEnc(deps: Pick<SessionDeps, 'db'>, who: { userId: string; appId: string; openId: string }): Promise<string | null> {
  const newest = await deps.db.Session.findOne({ appId: who.appId, openId: who.openId, userId: who.userId }, { sessionKeyEnc: 1 })
    .sort({ familyCreatedAt: -1 })
    .lean();
  return newest?.sessionKeyEnc ?? null;
}

/** A session is live while its current token is neither used, revoked nor expired. */
export async function isSessionLive(deps: SessionDeps, sessionId: string): Promise<boolean> {
  return (await deps.db.Session.exists({ familyId: sessionId, revokedAt: null, expiresAt: { $gt: deps.now() } })) !== null;
}

export async function listSessions(deps: SessionDeps, userId: string, currentSessionId: string): Promise<SessionOutput[]> {
  const live = await deps.db.Session.find({ userId, revokedAt: null, expiresAt: { $gt: deps.now() } })
    .sort({ lastUsedAt: -1 })
    .lean();
  return live.map((s) => ({
    id: s.familyId,
    createdAt: s.familyCreatedAt,
    lastUsedAt: s.lastUsedAt,
    expiresAt: s.expiresAt,
    userAgent: s.userAgent ?? null,
    ip: s.ip ?? null,
    current: s.familyId === currentSessionId,
  }));
}

/**
 * The periodic cleanup (no TTL indexes in the embedded database). Rotated tokens are kept until
 * they expire, so a reuse is recognised as long as the token could have been valid.
 */
export async function deleteExpiredSessions(deps: Pick<SessionDeps, 'db' | 'now'>): Promise<number> {
  const { deletedCount } = await deps.db.Session.deleteMany({ expiresAt: { $lte: deps.now() } });
  return deletedCount;
}
