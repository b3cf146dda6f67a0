import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * "This happened once": a document whose `_id` names a one-time event (a refresh token used, a
 * registration ticket redeemed). Inserting a unique `_id` is the one write that is atomic on
 * every database we run on: FerretDB v1's conditional updates are not (two concurrent
 * findOneAndUpdate calls can both match), so they cannot decide who was first.
 */
const claimSchema = new Schema(
  {
    _id: { type: String, required: true },
    /** Kept until then (the periodic cleanup removes it), so a late second attempt still loses. */
    expiresAt: { type: Date, required: true, index: true },
    /** What claimed it, when the losers need to know (a session's rotation or its revocation). */
    by: { type: String, default: null },
  },
  { collection: 'claims', versionKey: false },
);

type ClaimFields = InferSchemaType<typeof claimSchema>;
export type ClaimModel = Model<ClaimFields>;

export function claimModel(conn: Connection): ClaimModel {
  return (conn.models.Claim as ClaimModel | undefined) ?? conn.model<ClaimFields>('Claim', claimSchema);
}
