import { Types } from 'mongoose';
import type {
  AdminCountsOutput,
  AdminListUsersInput,
  AdminListUsersOutput,
  AdminRevokeSessionsOutput,
  AdminUserDetail,
  AdminUserView,
} from '../../shared';
import type { UserStore } from '../data/users';
import type { Database } from '../db/connection';
import { accountDeletionModel } from '../db/models/accountDeletion';
import { AppError } from '../errors';
import { listedSessions } from './sessionLists';
import { endAllSessions, type SessionDeps } from './sessions';
import type { StoredUser } from './users';

/**
 * What operators do: look users up, ban and unban them, end their sessions, count. Plain
 * functions (no tRPC); server/routers/admin.ts exposes them to admin callers only.
 */
export interface AdminDeps {
  db: Database;
  sessions: SessionDeps;
  users: UserStore;
  now: () => Date;
}

const DAY_MS = 86_400_000;

/** The user as an operator sees it: an explicit list of fields, never a secret. */
export function toAdminUserView(user: StoredUser): AdminUserView {
  return {
    id: String(user._id),
    openId: user.openId,
    registeredAppId: user.registeredAppId ?? null,
    unionId: user.unionId ?? null,
    nickName: user.nickName ?? null,
    status: user.status as AdminUserView['status'],
    phone: user.phone ? { countryCode: user.phone.countryCode, purePhoneNumber: user.phone.purePhoneNumber } : null,
    createdAt: user.createdAt,
    lastLoginAt: user.lastLoginAt ?? null,
    deletionScheduledFor: user.deletionScheduledFor ?? null,
  };
}

const notFound = () => new AppError('USER_NOT_FOUND', 'No user has this id');

async function findUser(deps: AdminDeps, id: string): Promise<StoredUser> {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const user = await deps.db.User.findById(id).lean<StoredUser>();
  if (!user) throw notFound();
  return user;
}

/** Live sessions of one user (their `_id` ranges), or of everyone (a count over all). */
async function countLiveSessions(deps: AdminDeps, userId?: string): Promise<number> {
  const now = deps.now();
  if (!userId) return deps.db.Session.countDocuments({ revokedAt: null, expiresAt: { $gt: now } });
  const listed = await listedSessions(deps, userId);
  return listed.filter((s) => s.revokedAt == null && s.expiresAt > now).length;
}

export async function listUsers(deps: AdminDeps, input: AdminListUsersInput = {}): Promise<AdminListUsersOutput> {
  const page = input.page ?? 1;
  const pageSize = Math.min(100, Math.max(1, input.pageSize ?? 20));
  const filter: Record<string, unknown> = {};
  const byId: Record<string, unknown>[] = [];
  if (input.status === 'deletion_pending') {
    // The deletions not done yet: a handful of documents, read whole.
    const pending = await accountDeletionModel(deps.db.connection).find({}, { _id: 1 }).lean();
    byId.push({ _id: { $in: pending.map((p) => new Types.ObjectId(p._id)) } });
  } else if (input.status) filter.status = input.status;
  if (input.appId) byId.push({ _id: { $in: await deps.db.Identity.distinct('userId', { appId: input.appId }) } });
  if (byId.length > 0) filter.$and = byId;
  if (input.createdFrom || input.createdTo) {
    filter.createdAt = { ...(input.createdFrom ? { $gte: input.createdFrom } : {}), ...(input.createdTo ? { $lt: input.createdTo } : {}) };
  }
  const [users, total] = await Promise.all([
    deps.db.User.find(filter)
      .sort({ createdAt: -1, _id: -1 })
      .skip((page - 1) * pageSize)
      .limit(pageSize)
      .lean<StoredUser[]>(),
    deps.db.User.countDocuments(filter),
  ]);
  return { items: users.map(toAdminUserView), page, pageSize, total };
}

export async function getUser(deps: AdminDeps, id: string): Promise<AdminUserDetail> {
  const user = await findUser(deps, id);
  const [identities, liveSessions] = await Promise.all([
    deps.db.Identity.find({ userId: user._id }, { appId: 1, openId: 1 }).sort({ appId: 1 }).lean(),
    countLiveSessions(deps, String(user._id)),
  ]);
  return {
    ...toAdminUserView(user),
    identities: identities.map((i) => ({ appId: i.appId, openId: i.openId })),
    liveSessions,
  };
}

async function setStatus(deps: AdminDeps, id: string, status: 'active' | 'banned'): Promise<StoredUser> {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const user = await deps.users.update({ _id: id }, { status });
  if (!user) throw notFound();
  return user;
}

/** Bans a user: status banned first (so no new login or refresh succeeds), then every session ends. */
export async function banUser(deps: AdminDeps, id: string): Promise<AdminUserView> {
  const user = await setStatus(deps, id, 'banned');
  await endAllSessions(deps.sessions, String(user._id), 'user_banned');
  return toAdminUserView(user);
}

/** Lifts a ban. The sessions the ban ended stay ended: the user logs in again. */
export async function unbanUser(deps: AdminDeps, id: string): Promise<AdminUserView> {
  const user = await setStatus(deps, id, 'active');
  return toAdminUserView(user);
}

/** Ends every session of a user (all devices log in again); the account stays as it is. */
export async function revokeSessions(deps: AdminDeps, id: string): Promise<AdminRevokeSessionsOutput> {
  const user = await findUser(deps, id);
  const revokedSessions = await endAllSessions(deps.sessions, String(user._id), 'logout_all');
  return { revokedSessions };
}

export async function counts(deps: AdminDeps): Promise<AdminCountsOutput> {
  const since = new Date(deps.now().getTime() - DAY_MS);
  const [users, active, banned, registeredLast24h, liveSessions, appIds] = await Promise.all([
    deps.db.User.countDocuments({}),
    deps.db.User.countDocuments({ status: 'active' }),
    deps.db.User.countDocuments({ status: 'banned' }),
    deps.db.User.countDocuments({ createdAt: { $gte: since } }),
    countLiveSessions(deps),
    deps.db.Identity.distinct('appId'),
  ]);
  const byApp: Record<string, number> = {};
  for (const appId of [...appIds].sort()) {
    byApp[appId] = (await deps.db.Identity.distinct('userId', { appId })).length;
  }
  return { users, active, banned, registeredLast24h, liveSessions, byApp };
}
