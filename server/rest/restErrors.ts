import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { FastifyError, FastifyReply } from 'fastify';
import { codeOfReason, type AppErrorData, type Reason } from '../../shared';
import { AppError, isDatabaseUnavailable } from '../errors';
import type { Logger } from '../logger';
import { refusalOf, type Refusal } from '../requestRefusals';
import { describeIssues, errorData, INTERNAL_MESSAGE, publicMessage, toTRPCError } from '../trpc/errorShape';

export { describeIssues };

/** A failure as the REST routes answer it: the reason's HTTP status and the data a client may see. */
export interface RestError {
  status: number;
  reason: Reason;
  message: string;
  issues?: AppErrorData['issues'];
  registrationTicket?: string;
  retryAfterS?: number;
}

/** The HTTP status of a reason, core or module: the one of its tRPC code (shared/reasons.ts). */
export function statusOfReason(reason: Reason): number {
  return getHTTPStatusCodeFromError(new TRPCError({ code: codeOfReason(reason) ?? 'INTERNAL_SERVER_ERROR' }));
}

function restError(reason: Reason, message: string, data: Omit<AppErrorData, 'reason'> = {}): RestError {
  const error: RestError = { status: statusOfReason(reason), reason, message };
  if (data.issues) error.issues = data.issues;
  if (data.registrationTicket !== undefined) error.registrationTicket = data.registrationTicket;
  if (data.retryAfterS !== undefined) error.retryAfterS = data.retryAfterS;
  return error;
}

/**
 * What a procedure call threw, as the REST answer: the same reason, message and data tRPC's error
 * formatter gives (server/trpc/init.ts). Anything unexpected is INTERNAL with a generic message;
 * never a stack.
 */
export function toRestError(err: unknown, log: Logger): RestError {
  if (err instanceof TRPCError) {
    const mapped = toTRPCError(err);
    const { reason, ...data } = errorData(mapped);
    if (reason === 'INTERNAL') return restError('INTERNAL', INTERNAL_MESSAGE);
    return restError(reason, publicMessage(mapped, { reason, ...data }), data);
  }
  if (err instanceof AppError) return restError(err.reason, err.message, err.details);
  if (isDatabaseUnavailable(err)) return restError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; try again shortly');
  log.error({ err }, 'REST request failed unexpectedly');
  return restError('INTERNAL', INTERNAL_MESSAGE);
}

/**
 * Fastify's own refusals (bad JSON, a body over the limit, an unsupported content type) as a
 * RestError, with a fixed message (server/requestRefusals.ts); `accepts` names the body types the
 * route takes.
 */
export function frameworkRestError(error: FastifyError, opts: { bodyLimitBytes: number; accepts?: string }, log: Logger): RestError {
  if (error instanceof AppError || error instanceof TRPCError) return toRestError(error, log);
  const refusal: Refusal | null = refusalOf(error, opts);
  if (refusal) return restError(refusal.reason, refusal.message);
  return toRestError(error, log);
}

/** `{ error: { reason, message, issues?, registrationTicket?, retryAfterS? } }`, with Retry-After when there is one. */
export function sendRestError(reply: FastifyReply, error: RestError) {
  const { status, ...body } = error;
  if (error.retryAfterS !== undefined) reply.header('retry-after', String(error.retryAfterS));
  return reply.code(status).send({ error: body });
}
