import { Schema, type Connection, type InferSchemaType, type HydratedDocument, type Model } from 'mongoose';

const userSchema = new Schema(
  {
    openId: { type: String, required: true, unique: true },
    // Only present when the mini program is bound to an Open Platform account.
    unionId: { type: String, default: null, index: true },
    nickName: { type: String, default: null },
    avatarUrl: { type: String, default: null },
    gender: { type: Number, default: null },
    language: { type: String, default: null },
    city: { type: String, default: null },
    province: { type: String, default: null },
    country: { type: String, default: null },
    status: { type: String, enum: ['active', 'banned'], default: 'active', required: true },
    lastLoginAt: { type: Date, default: null },
    // The latest session_key, AES-256-GCM encrypted at rest (server/secrets/secretBox). Never output.
    sessionKeyEnc: { type: String, default: null },
    sessionKeyUpdatedAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'users' },
);

export type UserFields = InferSchemaType<typeof userSchema>;
export type UserDoc = HydratedDocument<UserFields>;
export type UserModel = Model<UserFields>;

export function userModel(conn: Connection): UserModel {
  return (conn.models.User as UserModel | undefined) ?? conn.model('User', userSchema);
}
