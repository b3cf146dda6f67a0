import { Schema, type Connection, type InferSchemaType, type Model, Types } from 'mongoose';

/**
 * Proof of consent: which version of which document (privacy policy, terms ...) a user accepted,
 * when, and in which mini program. ONE document per user, `_id` = the user's `_id` as an ObjectId
 * (the same form as `users` and `user_sessions`), so auth.me and the export read it by `_id`, and
 * account deletion removes it by `_id`. Kept apart from the user document: a profile change never
 * touches it. Records are appended, oldest first; at most MAX_RECORDS_PER_DOCUMENT of each
 * document are kept (server/services/consents.ts), the oldest of that document going first.
 */
const consentRecordSchema = new Schema(
  {
    document: { type: String, required: true },
    version: { type: String, required: true },
    acceptedAt: { type: Date, required: true },
    appId: { type: String, required: true },
  },
  { _id: false },
);

const consentSchema = new Schema(
  {
    _id: { type: Types.ObjectId, required: true },
    records: { type: [consentRecordSchema], default: [] },
  },
  { collection: 'consents', versionKey: false },
);

export type ConsentFields = InferSchemaType<typeof consentSchema>;
export type StoredConsentRecord = InferSchemaType<typeof consentRecordSchema>;
export type ConsentModel = Model<ConsentFields>;

/** Records kept per document and user: the latest acceptances are the proof; older ones are history. */
export const MAX_RECORDS_PER_DOCUMENT = 20;

export function consentModel(conn: Connection): ConsentModel {
  return (conn.models.Consent as ConsentModel | undefined) ?? conn.model<ConsentFields>('Consent', consentSchema);
}
