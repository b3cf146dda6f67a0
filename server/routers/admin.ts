import {
  adminCountsOutput,
  adminListUsersInput,
  adminListUsersOutput,
  adminRevokeSessionsOutput,
  adminUserDetail,
  adminUserIdInput,
  adminUserView,
  dataExportOutput,
  deleteAccountOutput,
} from '../../shared';
import { deleteUserNow } from '../services/accountDeletion';
import { exportUserData } from '../services/dataExport';
import { banUser, counts, getUser, listUsers, revokeSessions, unbanUser } from '../services/admin';
import { adminProcedure } from '../trpc/adminProcedure';
import { router } from '../trpc/init';

/**
 * Operator procedures. Only in-process callers with `admin: true` in their context reach them
 * (scripts/admin.ts); over HTTP they answer ADMIN_ONLY.
 */
export const adminRouter = router({
  /** Users, newest first, filtered by status, app and creation time; paged. */
  listUsers: adminProcedure
    .input(adminListUsersInput)
    .output(adminListUsersOutput)
    .query(({ ctx, input }) => listUsers(ctx.services.auth, input)),

  /** One user with their openids per app and live session count. */
  getUser: adminProcedure
    .input(adminUserIdInput)
    .output(adminUserDetail)
    .query(({ ctx, input }) => getUser(ctx.services.auth, input.id)),

  /** Bans the user and ends all their sessions. */
  banUser: adminProcedure
    .input(adminUserIdInput)
    .output(adminUserView)
    .mutation(({ ctx, input }) => banUser(ctx.services.auth, input.id)),

  unbanUser: adminProcedure
    .input(adminUserIdInput)
    .output(adminUserView)
    .mutation(({ ctx, input }) => unbanUser(ctx.services.auth, input.id)),

  /** Ends all the user's sessions (every device logs in again). */
  revokeSessions: adminProcedure
    .input(adminUserIdInput)
    .output(adminRevokeSessionsOutput)
    .mutation(({ ctx, input }) => revokeSessions(ctx.services.auth, input.id)),

  /**
   * Deletes the user and everything stored about them, at once (the cooling-off period is the
   * user's own choice to undo; an operator acts on a request made elsewhere): the job of
   * user.deleteAccount, pending or not.
   */
  deleteUser: adminProcedure
    .input(adminUserIdInput)
    .output(deleteAccountOutput)
    .mutation(({ ctx, input }) => deleteUserNow(ctx.services.accountDeletion, input.id)),

  /** Everything stored about a user, as user.exportData gives it to the user (the same service). */
  exportUser: adminProcedure
    .input(adminUserIdInput)
    .output(dataExportOutput)
    .query(({ ctx, input }) => exportUserData(ctx.services.dataExport, input.id)),

  counts: adminProcedure.output(adminCountsOutput).query(({ ctx }) => counts(ctx.services.auth)),
});
