import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { codeOfReason, type AppErrorData, type ErrorReason, type Reason } from '../../shared';
import { AppError, isDatabaseUnavailable } from '.';
import { refusalOf, type ErrorSite } from './refusals';

/**
 * The one error boundary: any error, from a service, tRPC, Fastify, Node's HTTP parser or the
 * database driver, classified once into what a client may learn of it. Every HTTP face (the tRPC
 * formatter and outcome middleware, /api, the legacy routes, the avatar routes, the HTTP edge)
 * only formats this result in its own shape.
 */
export interface ClassifiedError {
  /** The core's (shared/reasons.ts) or a module's (defineReasons). */
  reason: Reason;
  /** The tRPC code it travels under on /trpc. */
  code: TRPC_ERROR_CODE_KEY;
  /** The HTTP status of every face. */
  status: number;
  /** Safe to show: an AppError's own message, the input issues in one line, or a fixed text. */
  message: string;
  /** issues, registrationTicket, retryAfterS: what the client may see beside the reason. */
  data: Omit<AppErrorData, 'reason'>;
  /** Not one of ours: the face logs the original error (never sent) and answers INTERNAL. */
  unexpected: boolean;
}

export const INTERNAL_MESSAGE = 'Internal server error';
export const UNAVAILABLE_MESSAGE = 'The service is temporarily unavailable; try again shortly';
export const UNDECODABLE_MESSAGE = 'The request input could not be decoded';

/** The HTTP status of a reason, core or module: the one of its tRPC code (codeOfReason, shared/reasons.ts). */
export function statusOfReason(reason: Reason): number {
  return statusOfCode(codeOfReason(reason) ?? 'INTERNAL_SERVER_ERROR');
}

function statusOfCode(code: TRPC_ERROR_CODE_KEY): number {
  return getHTTPStatusCodeFromError(new TRPCError({ code }));
}

/**
 * `site` says where a framework's refusal (bad JSON, a body over the limit ...) may have come from
 * (server/errors/refusals.ts); without it, only our own and tRPC's errors are recognised.
 */
export function classifyError(err: unknown, site?: ErrorSite): ClassifiedError {
  const cause = err instanceof TRPCError ? err.cause : err;
  if (cause instanceof AppError) return expected(cause.reason, cause.message, cause.details);
  if (isDatabaseUnavailable(cause) || isDatabaseUnavailable(err)) return expected('SERVICE_UNAVAILABLE', UNAVAILABLE_MESSAGE);
  if (err instanceof TRPCError) return fromTrpc(err);
  const refusal = site ? refusalOf(err, site) : null;
  if (refusal) return { reason: refusal.reason, code: codeOfReason(refusal.reason)!, status: refusal.status, message: refusal.message, data: {}, unexpected: false };
  return internal();
}

/**
 * An expected failure with this reason: its code, its status, its message and data as given. A
 * reason no defineReasons declared is a bug of ours: INTERNAL (logged), not a guess.
 */
export function expected(reason: Reason, message: string, data: Omit<AppErrorData, 'reason'> = {}): ClassifiedError {
  const code = codeOfReason(reason);
  if (code === undefined) return internal();
  const isInternal = reason === 'INTERNAL';
  return { reason, code, status: statusOfCode(code), message: isInternal ? INTERNAL_MESSAGE : message, data, unexpected: isInternal };
}

function internal(): ClassifiedError {
  return { reason: 'INTERNAL', code: 'INTERNAL_SERVER_ERROR', status: 500, message: INTERNAL_MESSAGE, data: {}, unexpected: true };
}

/** A code that no reason claims falls back to the closest reason. */
const REASON_BY_CODE: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorReason>> = {
  BAD_REQUEST: 'INVALID_INPUT',
  PARSE_ERROR: 'INVALID_INPUT',
  METHOD_NOT_SUPPORTED: 'INVALID_INPUT',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHORIZED: 'TOKEN_INVALID',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

/**
 * What the client is told of tRPC's own refusals ("No procedure found on path ...", "Unsupported
 * GET-request to mutation procedure ..."), a JSON or superjson decoding error ("Trying to
 * deserialize unknown class 'Foo' - check https://..."): library text, so a fixed message per
 * code instead. The reason says the same to a program.
 */
const FIXED_MESSAGES: Partial<Record<TRPC_ERROR_CODE_KEY, string>> = {
  BAD_REQUEST: UNDECODABLE_MESSAGE,
  PARSE_ERROR: UNDECODABLE_MESSAGE,
  METHOD_NOT_SUPPORTED: 'Wrong HTTP method: queries are called with GET, mutations with POST',
  NOT_FOUND: 'No such procedure',
  UNSUPPORTED_MEDIA_TYPE: 'Send the body as JSON (Content-Type: application/json)',
  PAYLOAD_TOO_LARGE: 'The request is too large',
};

/** A TRPCError that is not an AppError: input that failed its schema, or one of tRPC's own refusals (its code kept). */
function fromTrpc(error: TRPCError): ClassifiedError {
  const issues = schemaIssues(error.cause);
  const reason = issues ? 'INVALID_INPUT' : REASON_BY_CODE[error.code];
  if (!reason) return internal();
  const message = issues ? describeIssues(issues) : (FIXED_MESSAGES[error.code] ?? 'The request could not be served');
  return { reason, code: error.code, status: statusOfCode(error.code), message, data: issues ? { issues } : {}, unexpected: false };
}

interface SchemaIssue {
  path?: readonly (PropertyKey | { key: PropertyKey })[];
  message: string;
  code?: string;
}

/** zod's issues (of a procedure's input schema): paths, messages and codes only, at most 20. */
function schemaIssues(cause: unknown): AppErrorData['issues'] | undefined {
  const issues = (cause as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return undefined;
  return (issues as SchemaIssue[]).slice(0, 20).map((i) => ({
    path: (i.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : typeof p === 'number' ? p : String(p))),
    message: i.message,
    code: i.code ?? 'invalid',
  }));
}

/** `Invalid input: code: Too small ...; iv: ...`: the issues in one readable line. */
export function describeIssues(issues: NonNullable<AppErrorData['issues']>): string {
  const parts = issues.slice(0, 5).map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  return `Invalid input: ${parts.join('; ')}`;
}
