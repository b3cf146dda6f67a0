import { Schema, type Connection, type InferSchemaType, type Model, Types } from 'mongoose';

/**
 * A user as one mini program knows them: WeChat gives every app its own openid for a person, so
 * one user has an identity per app (linked by unionId when WeChat provides it). The `_id` is
 * `${appId}:${openId}`: unique by construction, and the fast lookup on every database.
 * The identity never changes after it is made, so a returning login does not write to it (the
 * session_key of each login is kept with its session, see models/session.ts).
 */
const identitySchema = new Schema(
  {
    _id: { type: String, required: true },
    appId: { type: String, required: true },
    openId: { type: String, required: true },
    userId: { type: Types.ObjectId, required: true, index: true },
    unionId: { type: String, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'wechat_identities' },
);

export type IdentityFields = InferSchemaType<typeof identitySchema>;
export type IdentityModel = Model<IdentityFields>;

export const identityId = (appId: string, openId: string) => `${appId}:${openId}`;

export function identityModel(conn: Connection): IdentityModel {
  return (conn.models.Identity as IdentityModel | undefined) ?? conn.model('Identity', identitySchema);
}
