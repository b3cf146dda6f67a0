import { Types } from 'mongoose';
import type { CancelDeletionOutput, DeleteAccountOutput } from '../../shared';
import type { GatewayCaller } from '../cloudHosting/gatewayHeaders';
import { accountDeletionModel } from '../db/models/accountDeletion';
import { AppError, isDuplicateKey } from '../errors';
import type { AccessTokenClaims } from '../tokens/accessToken';
import type { AccountDeletionJobs } from './accountDeletionJob';
import { provePresence } from './accountDeletionProof';
import { findUserId, wechatSessionOf, type AuthDeps } from './auth';
import { endAllSessions } from './sessions';

/**
 * Account deletion as users and operators ask for it: recorded as a job first (so it cannot be
 * lost), every session ended at once, the user marked (login refuses), then the job runs now or
 * after the cooling-off period (ACCOUNT_DELETION_DELAY_DAYS). See docs/reference/account-deletion.md.
 */
export interface AccountDeletionDeps {
  auth: AuthDeps;
  jobs: AccountDeletionJobs;
  delayDays: number;
}

const DAY_MS = 86_400_000;

const nothingPending = () => new AppError('NO_DELETION_PENDING', 'This account has no deletion that can still be cancelled');
const userGone = () => new AppError('USER_NOT_FOUND', 'No user has this id');

/** user.deleteAccount: the proof of presence, then the deletion (now, or scheduled). */
export async function deleteAccount(
  deps: AccountDeletionDeps,
  claims: AccessTokenClaims,
  code: string | undefined,
  caller: GatewayCaller | undefined,
): Promise<DeleteAccountOutput> {
  await provePresence(deps.auth, claims, code, caller);
  const runAt = new Date(deps.auth.now().getTime() + deps.delayDays * DAY_MS);
  return requestDeletion(deps, claims.userId, { runAt, by: 'user' });
}

/** admin delete: at once, cooling-off or not (an operator acts on a request made elsewhere, e.g. in writing). */
export async function deleteUserNow(deps: AccountDeletionDeps, userId: string): Promise<DeleteAccountOutput> {
  if (!Types.ObjectId.isValid(userId) || !(await deps.auth.db.User.exists({ _id: userId }))) throw userGone();
  return requestDeletion(deps, userId, { runAt: deps.auth.now(), by: 'admin' });
}

async function requestDeletion(deps: AccountDeletionDeps, userId: string, opts: { runAt: Date; by: 'user' | 'admin' }): Promise<DeleteAccountOutput> {
  const { auth } = deps;
  const jobs = accountDeletionModel(auth.db.connection);
  // Recorded first: from here on the deletion happens, whatever stops this process.
  let runAt = opts.runAt;
  try {
    await jobs.create({ _id: userId, requestedAt: auth.now(), runAt, requestedBy: opts.by });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    // Asked again (an operator deleting a pending account): the earlier of the two times.
    const existing = await jobs.findById(userId).lean();
    if (existing && existing.runAt > runAt) await jobs.updateOne({ _id: userId }, { $set: { runAt } });
    else if (existing) runAt = existing.runAt;
  }
  if (!(await auth.users.update({ _id: userId }, { deletionScheduledFor: runAt }))) {
    await jobs.deleteOne({ _id: userId });
    throw userGone();
  }
  // Every token of the user is refused from now on (on this instance at once, elsewhere within
  // AUTH_CACHE_TTL_S): the user-wide cut-off, then each listed session.
  await endAllSessions(auth.sessions, userId, 'user_gone');
  if (runAt > auth.now()) return { status: 'scheduled', scheduledFor: runAt };
  // A run that fails is logged and left to the periodic tick: the record makes it durable, and
  // the account is unusable meanwhile.
  await deps.jobs.run(userId);
  return { status: 'deleted' };
}

/**
 * user.cancelDeletion: no session (they all ended), so the wx.login code (or the gateway's caller)
 * names the user. Only a deletion still in its cooling-off period can be cancelled; login works
 * again afterwards.
 */
export async function cancelDeletion(
  deps: AccountDeletionDeps,
  appId: string | undefined,
  code: string | undefined,
  caller: GatewayCaller | undefined,
): Promise<CancelDeletionOutput> {
  const { auth } = deps;
  const session = await wechatSessionOf(auth, appId, code, caller);
  const userId = await findUserId(auth, session);
  if (!userId) throw nothingPending();
  const jobs = accountDeletionModel(auth.db.connection);
  const job = await jobs.findById(userId).lean();
  if (!job || job.runAt <= auth.now()) throw nothingPending();
  // The job first: a crash between the two writes leaves a mark without a job, which login clears.
  await jobs.deleteOne({ _id: userId });
  await auth.users.update({ _id: userId }, { deletionScheduledFor: null });
  auth.logger.info({ userId }, 'account deletion cancelled');
  return { status: 'cancelled' };
}
