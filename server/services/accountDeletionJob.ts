import { Types } from 'mongoose';
import { deleteAvatar, deleteAvatarsOfUser } from '../avatars/avatarStore';
import type { UserStore } from '../data/users';
import type { Database } from '../db/connection';
import { accountDeletionModel } from '../db/models/accountDeletion';
import { RATE_LIMIT_SLOTS_COLLECTION } from '../db/models/rateLimitSlot';
import type { Logger } from '../logger';
import type { AppModule } from '../modules/defineModule';
import type { IdentityCache } from './identities';
import { deleteSessionRefsOfUser, sessionsOfUser } from './sessionLists';
import { endAllSessions, type SessionDeps } from './sessions';

/**
 * The deletion job: everything stored about a user goes, step by step, each step idempotent, the
 * job's record (models/accountDeletion.ts) last. A run that dies halfway (a crash, a database
 * outage, a module hook that throws) leaves the record, and the next run (resumed at start, or
 * the periodic tick) does every step again: what is gone stays gone, what is left goes.
 *
 * Steps run in an order where nothing a later step needs is gone before it: the user document
 * (which login reads, and whose deletionScheduledFor refuses logins meanwhile) and the identities
 * (the openids the registration tickets and rate limit slots are found by) go last.
 *
 * Queries not by `_id` (rare and bounded, this runs once per deleted user): identities and phone
 * bindings by their indexed userId; registration tickets by openId, claims and rate limit slots by
 * key prefix (all three short-lived, removed by the cleanup within minutes); avatars by owner; and
 * one sweep of sessions by userId for a session its reference is missing for (a login whose
 * reference insert failed after its session's succeeded): a read of the whole sessions collection
 * on the embedded database, once per deletion.
 */
export interface AccountDeletionJobDeps {
  db: Database;
  now: () => Date;
  logger: Logger;
  users: UserStore;
  sessions: SessionDeps;
  identities: IdentityCache;
  /** Every registered module (server/modules/index.ts, through the composition root): their onUserDeleted hooks run. */
  modules: Record<string, AppModule>;
}

export interface AccountDeletionJobs {
  /** Runs the user's deletion if it is recorded and due; true when it is done (nothing of the user is left). */
  run(userId: string): Promise<boolean>;
  /** Runs every recorded deletion that is due (at start and on the periodic tick); failures are logged, and retried next time. */
  runDue(): Promise<void>;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function createAccountDeletionJobs(deps: AccountDeletionJobDeps): AccountDeletionJobs {
  const jobs = accountDeletionModel(deps.db.connection);
  // One run per user at a time in this process (the request's and the tick's); other instances
  // may run the same job at once: every step is idempotent.
  const running = new Map<string, Promise<boolean>>();

  async function runOnce(userId: string): Promise<boolean> {
    const job = await jobs.findById(userId).lean();
    if (!job || job.runAt > deps.now()) return !job;
    try {
      await deleteEverything(deps, userId);
      await jobs.deleteOne({ _id: userId });
      deps.logger.info({ userId }, 'account deleted');
      return true;
    } catch (err) {
      await jobs.updateOne({ _id: userId }, { $inc: { failures: 1 } }).catch(() => undefined);
      deps.logger.warn({ err, userId }, 'account deletion failed; it is retried by the periodic tick');
      return false;
    }
  }

  const run = (userId: string) => {
    const inFlight = running.get(userId);
    if (inFlight) return inFlight;
    const started = runOnce(userId).finally(() => running.delete(userId));
    running.set(userId, started);
    return started;
  };

  return {
    run,
    async runDue() {
      // The collection holds only the deletions not done yet: a handful of documents.
      const due = await jobs.find({ runAt: { $lte: deps.now() } }, { _id: 1 }).lean();
      for (const job of due) await run(job._id);
    },
  };
}

async function deleteEverything(deps: AccountDeletionJobDeps, userId: string): Promise<void> {
  const { db } = deps;
  const _id = new Types.ObjectId(userId);
  const user = await db.User.findById(_id, { openId: 1, avatarId: 1 }).lean();
  const identities = await db.Identity.find({ userId: _id }, { _id: 1, openId: 1 }).lean();
  const openIds = [...new Set([...(user ? [user.openId] : []), ...identities.map((i) => i.openId)])];

  // Every session ends at once (the user-wide cut-off, then each listed session), also on a
  // resumed run: the caches of this instance drop them now.
  if (user) await endAllSessions(deps.sessions, userId, 'user_gone');

  for (const [name, module] of Object.entries(deps.modules)) {
    if (module.onUserDeleted) await module.onUserDeleted({ db, log: deps.logger.child({ module: name }), now: deps.now }, userId);
  }

  if (user?.avatarId) await deleteAvatar(db, user.avatarId, { ownerId: userId });
  await deleteAvatarsOfUser(db, userId);
  await db.PhoneBinding.deleteMany({ userId: _id });
  if (openIds.length > 0) await db.RegistrationTicket.deleteMany({ openId: { $in: openIds } });
  // Rate limit counters keyed by this user (the per-user and the export buckets) or their openids
  // (RATE_LIMIT_STORE=mongodb): `bucket:key@window#n`.
  const keys = [`user:${userId}`, `export:${userId}`, ...openIds.map((o) => `openid:${o}`)].map(escapeRegExp).join('|');
  await db.connection.collection(RATE_LIMIT_SLOTS_COLLECTION).deleteMany({ _id: { $regex: `^(?:${keys})@` } as never });

  await deleteSessions(db, _id);
  await db.Claim.deleteOne({ _id: `avatar-change:${userId}` });
  // One document per user, `_id` = the user's ObjectId (server/db/models/consent.ts).
  await db.Consent.deleteOne({ _id });

  for (const identity of identities) deps.identities.delete(identity._id);
  await db.Identity.deleteMany({ userId: _id });
  await db.User.deleteOne({ _id });
  deps.users.forget(userId);
}

/** The user's sessions (with their IPs and devices), their generation claims and migrated tokens. */
async function deleteSessions(db: Database, userId: Types.ObjectId): Promise<void> {
  const listed = (await sessionsOfUser({ db }, String(userId))).map((s) => s._id);
  const swept = await db.Session.find({ userId }, { _id: 1 }).lean();
  const ids = [...new Set([...listed, ...swept.map((s) => s._id)])];
  if (ids.length > 0) {
    await db.Claim.deleteMany({ _id: { $regex: `^session:(?:${ids.map(escapeRegExp).join('|')}):` } });
    await db.LegacyRefreshToken.deleteMany({ sessionId: { $in: ids } });
    await db.Session.deleteMany({ _id: { $in: ids } });
  }
  // The references last: a run that dies before this finds the sessions through them again.
  await deleteSessionRefsOfUser({ db }, String(userId));
}
