import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * The WeChat server access token of one mini program, shared by every instance of the backend.
 * `_id` is the appId, so each read and each lease attempt is an `_id` lookup. The token itself is
 * sealed with the SecretBox (it is a secret); `tokenHash` (SHA-256 hex) lets an instance compare
 * tokens without opening them. `leaseOwner` / `leaseUntil` show the refresh lease: the one instance
 * holding it fetches from WeChat while the others wait and read what it writes (the lease itself
 * is arbitrated by the claims below). Expiry is by query: the embedded database has no TTL indexes.
 */
const wechatAccessTokenSchema = new Schema(
  {
    _id: { type: String, required: true },
    tokenEnc: { type: String, default: null },
    tokenHash: { type: String, default: null },
    expiresAt: { type: Date, default: null },
    fetchedAt: { type: Date, default: null },
    leaseOwner: { type: String, default: null },
    leaseUntil: { type: Date, default: null },
  },
  { collection: 'wechat_access_tokens', versionKey: false },
);

export type WechatAccessTokenFields = InferSchemaType<typeof wechatAccessTokenSchema>;
export type WechatAccessTokenModel = Model<WechatAccessTokenFields>;

export function wechatAccessTokenModel(conn: Connection): WechatAccessTokenModel {
  return (
    (conn.models.WechatAccessToken as WechatAccessTokenModel | undefined) ??
    conn.model<WechatAccessTokenFields>('WechatAccessToken', wechatAccessTokenSchema)
  );
}

/**
 * The refresh lease's arbiter. The embedded database (FerretDB v1) does not apply a conditional
 * update atomically: several concurrent `updateOne({ leaseUntil: null }, ...)` all match. Inserting
 * a unique `_id` is atomic, so a lease is taken by inserting claim `<appId>#<gen>` for the next
 * generation: exactly one instance wins each generation. Each claim is then written only by its
 * owner (heartbeat, release), never raced. Old generations are deleted as new ones are taken.
 */
const wechatAccessTokenLeaseSchema = new Schema(
  {
    _id: { type: String, required: true },
    appId: { type: String, required: true },
    gen: { type: Number, required: true },
    owner: { type: String, required: true },
    until: { type: Date, required: true },
    released: { type: Boolean, required: true, default: false },
  },
  { collection: 'wechat_access_token_leases', versionKey: false },
);
wechatAccessTokenLeaseSchema.index({ appId: 1, gen: -1 });

export type WechatAccessTokenLeaseFields = InferSchemaType<typeof wechatAccessTokenLeaseSchema>;
export type WechatAccessTokenLeaseModel = Model<WechatAccessTokenLeaseFields>;

export function wechatAccessTokenLeaseModel(conn: Connection): WechatAccessTokenLeaseModel {
  return (
    (conn.models.WechatAccessTokenLease as WechatAccessTokenLeaseModel | undefined) ??
    conn.model<WechatAccessTokenLeaseFields>('WechatAccessTokenLease', wechatAccessTokenLeaseSchema)
  );
}
