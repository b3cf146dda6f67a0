import { createHash, randomBytes } from 'node:crypto';

/**
 * Refresh tokens: `wxr_<sessionId>.<secret>`. The session id says which document to read (by
 * `_id`); the secret (256 random bits) is what proves possession, and only its SHA-256 is stored.
 * A session id is `<userIdHex>:<128 random bits>` (sessions started before that change have the
 * random part alone, see server/services/sessionLists.ts).
 * Tokens of the old shape, `wxr_<secret>` with no session id, are still read (see
 * server/services/sessionMigration.ts): their hash is of the whole token.
 */
export type ParsedRefreshToken = { kind: 'session'; sessionId: string; secretHash: string } | { kind: 'legacy'; tokenHash: string };

const SESSION_ID = /^(?:[0-9a-f]{24}:)?[A-Za-z0-9_-]{22}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * A session's id (also the access token's `sid`): its user's id, then 128 random bits (base64url).
 * Starting with the user's id puts a user's sessions in one `_id` range, so a login writes its
 * session and nothing else (server/services/sessionLists.ts).
 */
export const newSessionId = (userId: string) => `${userId}:${randomBytes(16).toString('base64url')}`;

export function newRefreshToken(sessionId: string): { token: string; secretHash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { token: `wxr_${sessionId}.${secret}`, secretHash: sha256Hex(secret) };
}

/** null: not a refresh token of either shape (refused without a database read). */
export function parseRefreshToken(token: string): ParsedRefreshToken | null {
  if (!token.startsWith('wxr_')) return null;
  const body = token.slice(4);
  const dot = body.indexOf('.');
  if (dot < 0) return SECRET.test(body) ? { kind: 'legacy', tokenHash: sha256Hex(token) } : null;
  const sessionId = body.slice(0, dot);
  const secret = body.slice(dot + 1);
  if (!SESSION_ID.test(sessionId) || !SECRET.test(secret)) return null;
  return { kind: 'session', sessionId, secretHash: sha256Hex(secret) };
}
