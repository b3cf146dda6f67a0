import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * One per session of an earlier version whose id does not start with its user's (ids of the
 * random part alone, and migrated ones): `_id` `<userIdHex>:<sessionId>`, so those sessions are in
 * the same `_id` range as the user's current ones, `<userIdHex>:` to `<userIdHex>;`, read from the
 * `_id` index on MongoDB and on the embedded database (devdb pushes string ranges on `_id` down to
 * its index). New sessions need none: their own ids are in that range of `sessions`
 * (server/services/sessionLists.ts). The cleanup removes references past their session's endsAt,
 * so the collection empties as those sessions end. Correctness of "end them all" does not rest on
 * these alone: users.sessionsValidAfter ends every session started before it.
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
