import { z } from 'zod';
import { allReasons } from '../../shared';
// The router first, and with it every module's defineReasons: the list below is read once.
import '../root';

/** Every reason, the core's (shared/reasons.ts) and the modules', for the OpenAPI document. */
export const reasonSchema = z
  .enum(Object.keys(allReasons()) as [string, ...string[]])
  .meta({ id: 'ErrorReason', description: 'Stable: switch on it, never on the message. The HTTP status is the one of its tRPC code (README, "Error reasons").' });

export const issuesSchema = z
  .array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string(), code: z.string() }))
  .meta({ description: 'With INVALID_INPUT: what failed validation (zod paths and messages)' });

/** The body of every failed REST call (`/api/*`, and /avatar). */
export const errorBodySchema = z
  .object({
    error: z.object({
      reason: reasonSchema,
      message: z.string().meta({ description: 'Safe to show; never a stack or an internal detail' }),
      issues: issuesSchema.optional(),
      registrationTicket: z.string().optional().meta({ description: 'With USER_NOT_REGISTERED: single-use ticket for POST /api/auth/register' }),
      retryAfterS: z.number().int().optional().meta({ description: 'With RATE_LIMITED: seconds until a retry can succeed (also the Retry-After header)' }),
      scheduledFor: z.string().optional().meta({ description: 'With ACCOUNT_DELETION_PENDING: when the deletion runs (ISO 8601)' }),
    }),
  })
  .meta({ id: 'Error' });
