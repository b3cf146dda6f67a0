import { Schema, type Connection, type InferSchemaType, type Model, Types } from 'mongoose';

/**
 * One login session, keyed by its id: every hot path (refresh, the session check of an
 * authenticated call, logout) finds it by `_id`, the one lookup the embedded database answers
 * from an index. The id is `<userIdHex>:<random>`, so a user's sessions are one `_id` range
 * (server/services/sessionLists.ts). A refresh token names its session (`wxr_<sessionId>.<secret>`, see
 * server/tokens/refreshToken.ts); the document keeps the SHA-256 of the current token's secret and
 * of the one rotated last (reuse detection), and a generation that every write of the document
 * raises (see server/services/sessions.ts for why). A refresh updates this document: storage grows
 * by one document per login, not per refresh. Expiry is by query and the periodic cleanup (the
 * embedded database has no TTL indexes). Logins insert through a batcher
 * (server/infra/perf/insertBatcher.ts), straight to the driver: the document is built complete.
 */
const sessionSchema = new Schema(
  {
    _id: { type: String, required: true },
    userId: { type: Types.ObjectId, required: true },
    /** The mini program the session was opened from; its access tokens carry it. */
    appId: { type: String, required: true },
    openId: { type: String, required: true },
    /** SHA-256 (hex) of the current refresh token's secret. */
    tokenHash: { type: String, required: true },
    /** SHA-256 of the token rotated last: presenting it again means a copy is in use. */
    previousHash: { type: String, default: null },
    /** Raised by every write after the insert (rotation, revocation); see sessions.ts. */
    generation: { type: Number, required: true },
    /** The login. */
    createdAt: { type: Date, required: true },
    lastUsedAt: { type: Date, required: true },
    /** When the current refresh token expires. */
    expiresAt: { type: Date, required: true, index: true },
    /** No rotation extends the session past this (SESSION_MAX_AGE_S from the login). */
    endsAt: { type: Date, required: true },
    userAgent: { type: String, default: null },
    ip: { type: String, default: null },
    revokedAt: { type: Date, default: null },
    revokedReason: { type: String, enum: ['logout', 'logout_all', 'reuse_detected', 'user_banned', 'user_gone', null], default: null },
    /**
     * The session_key WeChat gave the login that started this session (sealed, AES-256-GCM; never
     * output). The newest login's key is the user's current one in that app.
     */
    sessionKeyEnc: { type: String, default: null },
  },
  { collection: 'sessions', versionKey: false },
);

export type SessionFields = InferSchemaType<typeof sessionSchema>;
/** A session document as stored, every field present (what the login's batched insert writes). */
export type SessionDocument = Required<SessionFields>;
export type SessionModel = Model<SessionFields>;
export type RevokedReason = Exclude<SessionFields['revokedReason'], null | undefined>;

export function sessionModel(conn: Connection): SessionModel {
  return (conn.models.Session as SessionModel | undefined) ?? conn.model<SessionFields>('Session', sessionSchema);
}
