import { Schema, type Connection, type InferSchemaType, type Model, Types } from 'mongoose';

/**
 * A user as one mini program knows them: WeChat gives every app its own openid for a person, so
 * one user has an identity per app (linked by unionId when WeChat provides it). The `_id` is
 * `${appId}:${openId}`: unique by construction, and the fast lookup on every database.
 * The latest session_key for that app lives here, sealed (AES-256-GCM); it is never output.
 */
const identitySchema = new Schema(
  {
    _id: { type: String, required: true },
    appId: { type: String, required: true },
    openId: { type: String, required: true },
    userId: { type: Types.ObjectId, required: true, index: true },
    unionId: { type: String, default: null },
    sessionKeyEnc: { type: String, default: null },
    sessionKeyUpdatedAt: { type: Date, default: null },
    lastLoginAt: { type: Date, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'wechat_identities' },
);

export type IdentityFields = InferSchemaType<typeof identitySchema>;
export type IdentityModel = Model<IdentityFields>;

export const identityId = (appId: string, openId: string) => `${appId}:${openId}`;

export function identityModel(conn: Connection): IdentityModel {
  return (conn.models.Identity as IdentityModel | undefined) ?? conn.model('Identity', identitySchema);
}
