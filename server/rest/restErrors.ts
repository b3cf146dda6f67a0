import type { FastifyReply } from 'fastify';
import type { AppErrorData, Reason } from '../../shared';
import { classifyError } from '../errors/classify';
import type { ErrorSite } from '../errors/refusals';
import type { Logger } from '../logger';

/** A failure as the plain-JSON routes answer it: the HTTP status and the data a client may see. */
export interface RestError {
  status: number;
  reason: Reason;
  message: string;
  issues?: AppErrorData['issues'];
  registrationTicket?: string;
  retryAfterS?: number;
  scheduledFor?: string;
}

/**
 * The plain-JSON face of the one error boundary (server/errors/classify.ts): the same reason,
 * message and data tRPC's error formatter gives. An unexpected error is logged here (with
 * `logLine`) and answered INTERNAL with a generic message; never a stack.
 */
export function toRestError(err: unknown, log: Logger, opts: { site?: ErrorSite; logLine?: string; url?: string } = {}): RestError {
  const { status, reason, message, data, unexpected } = classifyError(err, opts.site);
  if (unexpected) log.error(opts.url === undefined ? { err } : { err, url: opts.url.split('?')[0] }, opts.logLine ?? 'REST request failed unexpectedly');
  const error: RestError = { status, reason, message };
  if (data.issues) error.issues = data.issues;
  if (data.registrationTicket !== undefined) error.registrationTicket = data.registrationTicket;
  if (data.retryAfterS !== undefined) error.retryAfterS = data.retryAfterS;
  if (data.scheduledFor !== undefined) error.scheduledFor = data.scheduledFor;
  return error;
}

/** `{ error: { reason, message, issues?, registrationTicket?, retryAfterS? } }`, with Retry-After when there is one. */
export function sendRestError(reply: FastifyReply, error: RestError) {
  const { status, ...body } = error;
  if (error.retryAfterS !== undefined) reply.header('retry-after', String(error.retryAfterS));
  return reply.code(status).send({ error: body });
}
