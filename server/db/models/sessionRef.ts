import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * One per session, `_id` `<userIdHex>:<sessionId>`: a user's sessions are the `_id` range from
 * `<userIdHex>:` to `<userIdHex>;`, read from the `_id` index on MongoDB and on the embedded
 * database (devdb pushes string ranges on `_id` down to its index). That is what "every session of
 * a user" reads (logoutAll, bans, `user.sessions`, the admin view, the newest session_key of an
 * identity) instead of filtering the sessions collection by userId, which the embedded database
 * answers by reading the whole collection. A login inserts its reference beside its session, both
 * batched with other logins' (no document is updated per login); the cleanup removes references
 * past their session's endsAt. Correctness of "end them all" does not rest on these alone:
 * users.sessionsValidAfter ends every session started before it.
 */
const sessionRefSchema = new Schema(
  {
    _id: { type: String, required: true },
    appId: { type: String, required: true },
    createdAt: { type: Date, required: true },
    /** The session's endsAt: after it the reference is only history, and the cleanup removes it. */
    endsAt: { type: Date, required: true },
  },
  { collection: 'session_refs', versionKey: false },
);

export type SessionRefFields = InferSchemaType<typeof sessionRefSchema>;
export type SessionRefDocument = Required<SessionRefFields>;
export type SessionRefModel = Model<SessionRefFields>;

export function sessionRefModel(conn: Connection): SessionRefModel {
  return (conn.models.SessionRef as SessionRefModel | undefined) ?? conn.model<SessionRefFields>('SessionRef', sessionRefSchema);
}
