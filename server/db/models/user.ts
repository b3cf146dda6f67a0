import { Schema, type Connection, type InferSchemaType, type HydratedDocument, type Model } from 'mongoose';

const phoneSchema = new Schema(
  {
    countryCode: { type: String, required: true },
    purePhoneNumber: { type: String, required: true },
    /** As WeChat shows it: without the code for +86, with it otherwise. */
    phoneNumber: { type: String, required: true },
    boundAt: { type: Date, required: true },
  },
  { _id: false },
);

const userSchema = new Schema(
  {
    // The openid in the app the user first came from; other apps' openids are identities
    // (wechat_identities). Unique: it settles simultaneous first logins.
    openId: { type: String, required: true, unique: true },
    registeredAppId: { type: String, default: null },
    // Only present when the mini program is bound to an Open Platform account.
    unionId: { type: String, default: null, index: true },
    nickName: { type: String, default: null },
    // The avatar: an image uploaded to us (its id; the URL is built from configuration on every
    // answer) or else a URL elsewhere (WeChat's, the fill-in components'). The upload wins.
    avatarId: { type: String, default: null },
    avatarUrl: { type: String, default: null },
    gender: { type: Number, default: null },
    language: { type: String, default: null },
    city: { type: String, default: null },
    province: { type: String, default: null },
    country: { type: String, default: null },
    status: { type: String, enum: ['active', 'banned'], default: 'active', required: true },
    lastLoginAt: { type: Date, default: null },
    /**
     * Every session started at or before this time has ended (logoutAll, an admin revocation, a
     * ban): the one write that ends them all, compared by every refresh and session check.
     */
    sessionsValidAfter: { type: Date, default: null },
    phone: { type: phoneSchema, default: null },
    /**
     * Set by user.deleteAccount (and admin delete): the account is being deleted at this time
     * (server/services/accountDeletion.ts). Login refuses while it is set; the job removes the
     * whole document, and cancelDeletion clears it.
     */
    deletionScheduledFor: { type: Date, default: null },
  },
  { timestamps: true, collection: 'users' },
);

export type UserFields = InferSchemaType<typeof userSchema>;
export type UserDoc = HydratedDocument<UserFields>;
export type UserModel = Model<UserFields>;

export function userModel(conn: Connection): UserModel {
  return (conn.models.User as UserModel | undefined) ?? conn.model('User', userSchema);
}
