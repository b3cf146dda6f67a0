import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * A deletion of a user's account, recorded before anything is deleted, so that it cannot be lost
 * halfway (server/services/accountDeletionJob.ts). `_id` is the user's id (hex string): one job
 * per user, found by `_id`. The job runs at `runAt` (at once, or after the cooling-off period of
 * ACCOUNT_DELETION_DELAY_DAYS); every step is idempotent, the document goes last, and whatever
 * is left is resumed at start and retried by the periodic tick. The collection holds only the
 * deletions not yet done, so listing it (the tick, `admin users --status deletion_pending`) reads
 * a handful of documents. Nothing personal is kept here but the user's id.
 */
const accountDeletionSchema = new Schema(
  {
    _id: { type: String, required: true },
    requestedAt: { type: Date, required: true },
    runAt: { type: Date, required: true },
    /** Who asked: the user (user.deleteAccount) or an operator (admin delete). */
    requestedBy: { type: String, enum: ['user', 'admin'], required: true },
    /** Runs that failed so far; the tick tries again. */
    failures: { type: Number, default: 0 },
  },
  { collection: 'account_deletions', versionKey: false },
);

export type AccountDeletionFields = InferSchemaType<typeof accountDeletionSchema>;
export type AccountDeletionModel = Model<AccountDeletionFields>;

export function accountDeletionModel(conn: Connection): AccountDeletionModel {
  return (conn.models.AccountDeletion as AccountDeletionModel | undefined) ?? conn.model<AccountDeletionFields>('AccountDeletion', accountDeletionSchema);
}
