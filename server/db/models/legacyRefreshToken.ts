import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * Refresh tokens of the old shape (`wxr_<random>`, one document per token) that were live when
 * this database was migrated (server/services/sessionMigration.ts): the SHA-256 of the token →
 * the session it now continues. Used once, at that token's next refresh; removed by the cleanup
 * when the token would have expired.
 */
const legacyRefreshTokenSchema = new Schema(
  {
    _id: { type: String, required: true },
    sessionId: { type: String, required: true },
    expiresAt: { type: Date, required: true, index: true },
  },
  { collection: 'legacy_refresh_tokens', versionKey: false },
);

export type LegacyRefreshTokenFields = InferSchemaType<typeof legacyRefreshTokenSchema>;
export type LegacyRefreshTokenModel = Model<LegacyRefreshTokenFields>;

export function legacyRefreshTokenModel(conn: Connection): LegacyRefreshTokenModel {
  return (conn.models.LegacyRefreshToken as LegacyRefreshTokenModel | undefined) ?? conn.model<LegacyRefreshTokenFields>('LegacyRefreshToken', legacyRefreshTokenSchema);
}
