import type { Reason } from './reasons';

/**
 * The `data` of every tRPC error this server sends (beside tRPC's own code, httpStatus, path).
 * Clients switch on `reason`.
 */
export interface AppErrorData {
  reason: Reason;
  /** With USER_NOT_REGISTERED: a short-lived single-use ticket for auth.register. */
  registrationTicket?: string;
  /** With rate limits: seconds until a retry can succeed. */
  retryAfterS?: number;
  /** With ACCOUNT_DELETION_PENDING: when the deletion runs (ISO 8601). */
  scheduledFor?: string;
  /** With INVALID_INPUT: the zod issues, paths and messages only. */
  issues?: { path: (string | number)[]; message: string; code: string }[];
}
