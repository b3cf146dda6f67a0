import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * One counted call of a rate limit: `_id` is `bucket:key@windowStart#n`, the call's number n in
 * that fixed window. Inserting a unique `_id` is atomic on every database we run on, so no two
 * calls get the same number, on any number of instances (see server/rateLimit/mongoStore.ts).
 */
/** Also read by account deletion, which removes the slots keyed by the user (without the model: it is built only with RATE_LIMIT_STORE=mongodb). */
export const RATE_LIMIT_SLOTS_COLLECTION = 'rate_limit_slots';

const rateLimitSlotSchema = new Schema(
  {
    _id: { type: String, required: true },
    /** The window's end: refused by nobody (the window is gone), removed by the periodic cleanup. */
    expiresAt: { type: Date, required: true, index: true },
  },
  { collection: RATE_LIMIT_SLOTS_COLLECTION, versionKey: false },
);

type RateLimitSlotFields = InferSchemaType<typeof rateLimitSlotSchema>;
export type RateLimitSlotModel = Model<RateLimitSlotFields>;

export function rateLimitSlotModel(conn: Connection): RateLimitSlotModel {
  return (conn.models.RateLimitSlot as RateLimitSlotModel | undefined) ?? conn.model<RateLimitSlotFields>('RateLimitSlot', rateLimitSlotSchema);
}
