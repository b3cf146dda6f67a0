import { accountDeletionModel } from '../db/models/accountDeletion';
import type { Database } from '../db/connection';
import type { UserStore } from '../data/users';
import { AppError } from '../errors';
import type { StoredUser } from './users';

/**
 * For login and register: refuses a user whose deletion is pending, with ACCOUNT_DELETION_PENDING
 * and the time (data.scheduledFor), so the app can offer user.cancelDeletion. Costs nothing for
 * other users: the mark is on the user document login reads anyway. A mark without its job (a
 * cancel stopped between its two writes) is cleared.
 */
export async function refuseIfDeletionPending(deps: { db: Database; users: UserStore }, user: StoredUser): Promise<void> {
  if (!user.deletionScheduledFor) return;
  const job = await accountDeletionModel(deps.db.connection).findById(String(user._id), { runAt: 1 }).lean();
  if (job) {
    throw new AppError(
      'ACCOUNT_DELETION_PENDING',
      `This account is being deleted (scheduled for ${job.runAt.toISOString()}); until then the deletion can be cancelled`,
      { scheduledFor: job.runAt.toISOString() },
    );
  }
  await deps.users.update({ _id: user._id }, { deletionScheduledFor: null });
}
