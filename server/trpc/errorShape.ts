import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { codeOfReason, type AppErrorData, type ErrorReason } from '../../shared';
import { AppError, isDatabaseUnavailable } from '../errors';

/**
 * Turns whatever a procedure threw into the error the client sees. Service functions throw
 * AppError (no tRPC in them); here each becomes a TRPCError whose code follows its reason
 * (codeOfReason: the core's reasons and those modules define, the one registry of both).
 * A database that cannot be reached is SERVICE_UNAVAILABLE; anything else unexpected stays
 * INTERNAL_SERVER_ERROR and its message is replaced, so no internals reach the client.
 */
export function toTRPCError(error: TRPCError): TRPCError {
  const cause = error.cause;
  if (cause instanceof AppError) {
    const code = codeOfReason(cause.reason);
    // A reason no defineReasons declared is a bug of ours: INTERNAL (logged), not a guess.
    if (code === undefined) return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: INTERNAL_MESSAGE, cause: new Error(`undefined reason ${cause.reason}`) });
    return new TRPCError({ code, message: cause.message, cause });
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
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
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

/**
 * What the client is told when the failure is not one of ours (no AppError): tRPC's own refusals
 * ("No procedure found on path ...", "Unsupported GET-request to mutation procedure ..."), a JSON
 * or superjson decoding error ("Trying to deserialize unknown class 'Foo' - check https://..."):
 * library text, so a fixed message per code instead. The reason says the same to a program.
 */
const FIXED_MESSAGES: Partial<Record<TRPC_ERROR_CODE_KEY, string>> = {
  BAD_REQUEST: UNDECODABLE_MESSAGE,
  PARSE_ERROR: UNDECODABLE_MESSAGE,
  METHOD_NOT_SUPPORTED: 'Wrong HTTP method: queries are called with GET, mutations with POST',
  NOT_FOUND: 'No such procedure',
  UNSUPPORTED_MEDIA_TYPE: 'Send the body as JSON (Content-Type: application/json)',
  PAYLOAD_TOO_LARGE: 'The request is too large',
};

/** `Invalid input: code: Too small ...; iv: ...`: the issues in one readable line. */
export function describeIssues(issues: NonNullable<AppErrorData['issues']>): string {
  const parts = issues.slice(0, 5).map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  return `Invalid input: ${parts.join('; ')}`;
}

/**
 * The message of an error response, /trpc and /api alike: an AppError's own (written for the
 * client), the input issues in one line (zod's issues themselves stay in `data.issues`), or a
 * fixed message; never a library's text or an internal detail.
 */
export function publicMessage(error: TRPCError, data: AppErrorData): string {
  if (data.reason === 'INTERNAL') return INTERNAL_MESSAGE;
  if (error.cause instanceof AppError) return error.cause.message;
  if (data.issues) return describeIssues(data.issues);
  return FIXED_MESSAGES[error.code] ?? 'The request could not be served';
}
