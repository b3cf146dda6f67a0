import { Types } from 'mongoose';
import type { DataExportOutput } from '../../shared';
import type { AvatarUrls } from '../avatars/avatarUrls';
import type { ConsentStore } from '../data/consents';
import type { Database } from '../db/connection';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { AppModule } from '../modules/defineModule';
import { sessionsOfUser } from './sessionLists';
import { seenByUser } from './sessions';
import type { StoredUser } from './users';

/**
 * The user's data export (user.exportData, `npm run admin -- export <id>`): everything stored
 * about one user, as one document. Every part is copied field by field from an explicit list, so
 * no secret can slip in: session documents keep the sealed session_key and the refresh token's
 * hashes, registration tickets a token hash and a sealed session_key; none of those is copied.
 *
 * Rare and rate-limited: it reads the user's identities and tickets by a field other than `_id`,
 * which the embedded database answers by reading the collection (fine for a few calls an hour;
 * production MongoDB uses the indexes).
 */
export interface DataExportDeps {
  db: Database;
  log: Logger;
  now: () => Date;
  avatarUrls: AvatarUrls;
  consents: ConsentStore;
  /** server/modules/index.ts, through the composition root: each module's exportUserData. */
  modules: Readonly<Record<string, AppModule>>;
}

const FORMAT = 'wx-login-backend/user-export/1';

export async function exportUserData(deps: DataExportDeps, userId: string): Promise<DataExportOutput> {
  if (!Types.ObjectId.isValid(userId)) throw notFound();
  const _id = new Types.ObjectId(userId);
  const user = await deps.db.User.findById(_id).lean<StoredUser>();
  if (!user) throw notFound();

  const [identities, sessions, consents, modules] = await Promise.all([
    deps.db.Identity.find({ userId: _id }).sort({ appId: 1 }).lean(),
    sessionsOf(deps, _id),
    deps.consents.records(userId),
    moduleExports(deps, userId),
  ]);
  // Every openid the user has: the first app's, the other apps', and those of their sessions.
  const openIds = [...new Set([user.openId, ...identities.map((i) => i.openId), ...sessions.map((s) => s.openId)])];
  const tickets = await deps.db.RegistrationTicket.find({ openId: { $in: openIds } }).sort({ createdAt: 1 }).lean();

  return {
    format: FORMAT,
    exportedAt: deps.now(),
    profile: {
      id: String(user._id),
      status: user.status as DataExportOutput['profile']['status'],
      openId: user.openId,
      registeredAppId: user.registeredAppId ?? null,
      unionId: user.unionId ?? null,
      nickName: user.nickName ?? null,
      avatarUrl: user.avatarId ? deps.avatarUrls.urlOf(user.avatarId) : (user.avatarUrl ?? null),
      avatarUploaded: Boolean(user.avatarId),
      gender: (user.gender ?? null) as DataExportOutput['profile']['gender'],
      language: user.language ?? null,
      city: user.city ?? null,
      province: user.province ?? null,
      country: user.country ?? null,
      createdAt: user.createdAt,
      updatedAt: user.updatedAt,
      lastLoginAt: user.lastLoginAt ?? null,
      sessionsValidAfter: user.sessionsValidAfter ?? null,
      deletionScheduledFor: user.deletionScheduledFor ?? null,
    },
    phone: user.phone
      ? {
          countryCode: user.phone.countryCode,
          purePhoneNumber: user.phone.purePhoneNumber,
          phoneNumber: user.phone.phoneNumber,
          boundAt: user.phone.boundAt,
        }
      : null,
    identities: identities.map((i) => ({
      appId: i.appId,
      openId: i.openId,
      unionId: i.unionId ?? null,
      createdAt: (i as { createdAt?: Date }).createdAt ?? null,
    })),
    sessions,
    consents: consents.map((c) => ({ document: c.document, version: c.version, acceptedAt: c.acceptedAt, appId: c.appId })),
    registrationTickets: tickets.map((t) => ({
      appId: t.appId,
      openId: t.openId,
      unionId: t.unionId ?? null,
      createdAt: (t as { createdAt?: Date }).createdAt ?? null,
      expiresAt: t.expiresAt,
    })),
    modules,
  };
}

const notFound = () => new AppError('USER_NOT_FOUND', 'No user has this id');

/**
 * The user's sessions (server/services/sessionLists.ts: their `_id` ranges), newest first; ended ones too, until the cleanup removes them. Only what the
 * user may see of them: never the hashes or the key.
 */
async function sessionsOf(deps: DataExportDeps, userId: Types.ObjectId): Promise<DataExportOutput['sessions']> {
  const docs = await sessionsOfUser(deps, userId.toHexString());
  return docs
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .map((s) => ({
      ...seenByUser(s),
      appId: s.appId,
      openId: s.openId,
      endsAt: s.endsAt,
      revokedAt: s.revokedAt ?? null,
      revokedReason: s.revokedReason ?? null,
    }));
}

/** Each module's exportUserData under its name; a module without one stores nothing personal. */
async function moduleExports(deps: DataExportDeps, userId: string): Promise<Record<string, unknown>> {
  const ctx = { db: deps.db, log: deps.log, now: deps.now };
  const entries = await Promise.all(
    Object.entries(deps.modules)
      .filter(([, module]) => module.exportUserData !== undefined)
      .map(async ([name, module]) => [name, await module.exportUserData!(ctx, userId)] as const),
  );
  return Object.fromEntries(entries);
}
