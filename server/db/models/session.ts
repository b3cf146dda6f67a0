import { Schema, type Connection, type InferSchemaType, type Model, Types } from 'mongoose';

/**
 * One refresh token. Tokens of one login share a `familyId` (the session): refreshing rotates to a
 * new token of the same family and marks the old one `rotated`. Presenting a rotated token again
 * means it was copied, so the whole family is revoked. Only the token's SHA-256 is stored.
 * Expiry is by query and the periodic cleanup: the embedded database has no TTL indexes.
 * Logins insert through a batcher (server/db/insertBatcher.ts), straight to the driver: the
 * document is built complete in server/services/sessions.ts, defaults and timestamps included.
 */
const sessionSchema = new Schema(
  {
    tokenHash: { type: String, required: true, unique: true },
    familyId: { type: String, required: true, index: true },
    userId: { type: Types.ObjectId, required: true, index: true },
    /** The mini program the session was opened from; its access tokens carry it. */
    appId: { type: String, required: true },
    openId: { type: String, required: true },
    /** When the family (the login) started; bounds how long rotation can extend it. */
    familyCreatedAt: { type: Date, required: true },
    lastUsedAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true, index: true },
    userAgent: { type: String, default: null },
    ip: { type: String, default: null },
    revokedAt: { type: Date, default: null },
    revokedReason: { type: String, enum: ['rotated', 'logout', 'logout_all', 'reuse_detected', 'user_banned', null], default: null },
    /**
     * The session_key WeChat gave the login that started this family (sealed, AES-256-GCM; never
     * output). The newest login's key is the user's current one in that app: the login writes it
     * with the session it inserts anyway, instead of a second write to the identity.
     */
    sessionKeyEnc: { type: String, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'sessions' },
);

// The current session_key of an identity: its newest login.
sessionSchema.index({ appId: 1, openId: 1, familyCreatedAt: -1 });

export type SessionFields = InferSchemaType<typeof sessionSchema>;
/** A session document as stored, every field present (what the login's batched insert writes). */
export type SessionDocument = Required<SessionFields> & { _id: Types.ObjectId };
export type SessionModel = Model<SessionFields>;
export type RevokedReason = Exclude<SessionFields['revokedReason'], null | undefined>;

export function sessionModel(conn: Connection): SessionModel {
  return (conn.models.Session as SessionModel | undefined) ?? conn.model('Session', sessionSchema);
}
