import { z } from 'zod';

/**
 * What a user is shown of one of their sessions, in user.sessions and in their data export: the
 * device and the times, never its token hashes or session_key.
 */
export const sessionSeenByUser = {
  id: z.string(),
  createdAt: z.date(),
  lastUsedAt: z.date(),
  expiresAt: z.date(),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
};

/** A login session (a refresh token family) as its user sees it in user.sessions. */
export const sessionOutput = z.object({
  ...sessionSeenByUser,
  /** The session of the access token that asked. */
  current: z.boolean(),
});
export type SessionOutput = z.infer<typeof sessionOutput>;

export const sessionListOutput = z.array(sessionOutput);

/** A page of user.sessions, most recently used first: `limit` sessions (default 50) after `offset`. */
export const sessionListInput = z
  .object({
    limit: z.int().min(1).max(100).optional(),
    offset: z.int().min(0).max(10_000).optional(),
  })
  .optional();
export type SessionListInput = z.infer<typeof sessionListInput>;
