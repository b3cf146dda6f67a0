import { TRPCError } from '@trpc/server';
import { ERROR_REASONS, type AppErrorData, type ErrorReason } from '../../shared';
import { AppError, isDatabaseUnavailable } from '../errors';

/**
 * Turns whatever a procedure threw into the error the client sees. Service functions throw
 * AppError (no tRPC in them); here each becomes a TRPCError whose code follows its reason.
 * A database that cannot be reached is SERVICE_UNAVAILABLE; anything else unexpected stays
 * INTERNAL_SERVER_ERROR and its message is replaced, so no internals reach the client.
 */
export function toTRPCError(error: TRPCError): TRPCError {
  const cause = error.cause;
  if (cause instanceof AppError) {
    return new TRPCError({ code: ERROR_REASONS[cause.reason], message: cause.message, cause });
  }
  if (isDatabaseUnavailable(cause) || isDatabaseUnavailable(error)) {
    const unavailable = new AppError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; try again shortly');
    return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: unavailable.message, cause: unavailable });
  }
  return error;
}

/** A code that no reason claims falls back to the closest reason. */
const REASON_BY_CODE: Partial<Record<TRPCError['code'], ErrorReason>> = {
  BAD_REQUEST: 'INVALID_INPUT',
  PARSE_ERROR: 'INVALID_INPUT',
  METHOD_NOT_SUPPORTED: 'INVALID_INPUT',
  UNSUPPORTED_MEDIA_TYPE: 'INVALID_INPUT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHORIZED: 'TOKEN_INVALID',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

interface SchemaIssue {
  path?: readonly (PropertyKey | { key: PropertyKey })[];
  message: string;
  code?: string;
}

function schemaIssues(cause: unknown): AppErrorData['issues'] | undefined {
  const issues = (cause as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return undefined;
  return (issues as SchemaIssue[]).slice(0, 20).map((i) => ({
    path: (i.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : typeof p === 'number' ? p : String(p))),
    message: i.message,
    code: i.code ?? 'invalid',
  }));
}

/** The `data` part of every error response: tRPC's code and status, plus our reason. */
export function errorData(error: TRPCError): AppErrorData & { message?: string } {
  const cause = error.cause;
  if (cause instanceof AppError) return { reason: cause.reason, ...cause.details };
  const issues = schemaIssues(cause);
  if (issues) return { reason: 'INVALID_INPUT', issues };
  return { reason: REASON_BY_CODE[error.code] ?? 'INTERNAL' };
}

export const INTERNAL_MESSAGE = 'Internal server error';

export const UNDECODABLE_MESSAGE = 'The request input could not be decoded';

/** TypeError, RangeError, SyntaxError ...: their message describes our code, not the request. */
export function isJavaScriptError(cause: unknown): boolean {
  return cause instanceof TypeError || cause instanceof RangeError || cause instanceof SyntaxError || cause instanceof ReferenceError;
}
