import { Schema, type Connection, type InferSchemaType, type Model, Types } from 'mongoose';

/**
 * One refresh token. Tokens of one login share a `familyId` (the session): refreshing rotates to a
 * new token of the same family and marks the old one `rotated`. Presenting a rotated token again
 * means it was copied, so the whole family is revoked. Only the token's SHA-256 is stored.
 * Expiry is by query and the periodic cleanup: the embedded database has no TTL indexes.
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
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'sessions' },
);

export type SessionFields = InferSchemaType<typeof sessionSchema>;
export type SessionModel = Model<SessionFields>;
export type RevokedReason = Exclude<SessionFields['revokedReason'], null | undefined>;

export function sessionModel(conn: Connection): SessionModel {
  return (conn.models.Session as SessionModel | undefined) ?? conn.model('Session', sessionSchema);
}
