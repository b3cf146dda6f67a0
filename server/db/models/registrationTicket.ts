import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * A login that found no user (explicit registration mode) leaves a ticket, so auth.register
 * needs no second wx.login. Only the ticket's hash is stored; it is single-use and expires by
 * query (the embedded database has no TTL indexes) and by the periodic cleanup.
 */
const registrationTicketSchema = new Schema(
  {
    tokenHash: { type: String, required: true, unique: true },
    appId: { type: String, required: true },
    openId: { type: String, required: true },
    unionId: { type: String, default: null },
    /** Sealed; null for a Cloud Hosting login, which has no session_key. */
    sessionKeyEnc: { type: String, default: null },
    expiresAt: { type: Date, required: true, index: true },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'registration_tickets' },
);

export type RegistrationTicketFields = InferSchemaType<typeof registrationTicketSchema>;
export type RegistrationTicketModel = Model<RegistrationTicketFields>;

export function registrationTicketModel(conn: Connection): RegistrationTicketModel {
  return (
    (conn.models.RegistrationTicket as RegistrationTicketModel | undefined) ??
    conn.model('RegistrationTicket', registrationTicketSchema)
  );
}
