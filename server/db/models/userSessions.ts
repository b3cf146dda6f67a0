import { Schema, type Connection, type InferSchemaType, type Model, Types } from 'mongoose';

/**
 * The sessions of one user, keyed by the user's id: what "every session of a user" needs
 * (logoutAll, bans, `user.sessions`, the admin view, the newest session_key of an identity) reads
 * this one document by `_id` instead of filtering the sessions collection (a whole-collection scan
 * on the embedded database). A login pushes its session; at most MAX_LISTED_SESSIONS are kept
 * (server/services/sessionLists.ts). Correctness of "end them all" does not rest on this list
 * alone: users.sessionsValidAfter ends every session started before it.
 */
const listedSessionSchema = new Schema(
  {
    id: { type: String, required: true },
    appId: { type: String, required: true },
    createdAt: { type: Date, required: true },
    /** The session's endsAt: after it the entry is only history. */
    endsAt: { type: Date, required: true },
  },
  { _id: false },
);

const userSessionsSchema = new Schema(
  {
    _id: { type: Types.ObjectId, required: true },
    sessions: { type: [listedSessionSchema], default: [] },
  },
  { collection: 'user_sessions', versionKey: false },
);

export type UserSessionsFields = InferSchemaType<typeof userSessionsSchema>;
export type ListedSession = InferSchemaType<typeof listedSessionSchema>;
export type UserSessionsModel = Model<UserSessionsFields>;

export function userSessionsModel(conn: Connection): UserSessionsModel {
  return (conn.models.UserSessions as UserSessionsModel | undefined) ?? conn.model<UserSessionsFields>('UserSessions', userSessionsSchema);
}
