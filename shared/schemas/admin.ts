import { z } from 'zod';
import { userOutput, userStatus } from './user';

/**
 * The admin procedures (admin.*): for operators, called in process (scripts/admin.ts), never
 * over HTTP. What they show of a user is an explicit list of fields: no session_key, no token hash.
 */

/** A user's id: a MongoDB ObjectId in hex. */
export const adminUserId = z.string().regex(/^[0-9a-f]{24}$/i, 'must be a user id (24 hex digits)');

export const adminUserIdInput = z.object({ id: adminUserId });
export type AdminUserIdInput = z.infer<typeof adminUserIdInput>;

export const adminUserView = userOutput
  .pick({ id: true, openId: true, unionId: true, nickName: true, status: true, createdAt: true, lastLoginAt: true })
  .extend({
    // openId here: the openid in the app the user first came from.
    registeredAppId: z.string().nullable(),
    phone: z.object({ countryCode: z.string(), purePhoneNumber: z.string() }).nullable(),
    /** Set while the account is being deleted (user.deleteAccount's cooling-off period): when it runs. */
    deletionScheduledFor: z.date().nullable(),
  });
export type AdminUserView = z.infer<typeof adminUserView>;

export const adminListUsersInput = z.object({
  page: z.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.number().int().min(1).max(100).default(20),
  /** active or banned; deletion_pending: the accounts whose deletion is scheduled (any status). */
  status: z.enum([...userStatus.options, 'deletion_pending']).optional(),
  /** Users who have an identity (an openid) in this mini program. */
  appId: z.string().min(1).max(64).optional(),
  /** Created at or after this instant. */
  createdFrom: z.date().optional(),
  /** Created before this instant (exclusive). */
  createdTo: z.date().optional(),
});
export type AdminListUsersInput = z.input<typeof adminListUsersInput>;

export const adminListUsersOutput = z.object({
  /** Newest first. */
  items: z.array(adminUserView),
  page: z.number().int(),
  pageSize: z.number().int(),
  /** Users matching the filters, over all pages. */
  total: z.number().int(),
});
export type AdminListUsersOutput = z.infer<typeof adminListUsersOutput>;

export const adminUserDetail = adminUserView.extend({
  identities: z.array(z.object({ appId: z.string(), openId: z.string() })),
  liveSessions: z.number().int(),
});
export type AdminUserDetail = z.infer<typeof adminUserDetail>;

export const adminRevokeSessionsOutput = z.object({ revokedSessions: z.number().int() });
export type AdminRevokeSessionsOutput = z.infer<typeof adminRevokeSessionsOutput>;

export const adminCountsOutput = z.object({
  users: z.number().int(),
  active: z.number().int(),
  banned: z.number().int(),
  registeredLast24h: z.number().int(),
  liveSessions: z.number().int(),
  /** Users with an identity in each mini program. */
  byApp: z.record(z.string(), z.number().int()),
});
export type AdminCountsOutput = z.infer<typeof adminCountsOutput>;
