import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';

/**
 * Every expected failure has a stable reason: clients switch on `error.data.reason`, never on
 * message text. Defined once, as data, with the tRPC code each one travels under.
 */
export const ERROR_REASONS = {
  // Input
  INVALID_INPUT: 'BAD_REQUEST',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_IMAGE: 'UNSUPPORTED_MEDIA_TYPE', // an upload whose bytes are not PNG, JPEG, GIF or WebP
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE', // a body that is not JSON (forms too, on the legacy OAuth routes)
  REQUEST_TIMEOUT: 'TIMEOUT', // the request did not arrive whole within HTTP_REQUEST_TIMEOUT_MS

  // The wx.login code and WeChat's answer to it
  WECHAT_CODE_INVALID: 'BAD_REQUEST', // 40029: wrong, expired or from another appid; call wx.login again
  WECHAT_CODE_USED: 'BAD_REQUEST', // 40163: each code is single-use; usually a double submit
  WECHAT_RATE_LIMITED: 'TOO_MANY_REQUESTS', // 45011
  WECHAT_USER_BLOCKED: 'FORBIDDEN', // 40226: high-risk user, WeChat blocks the login
  WECHAT_UNAVAILABLE: 'SERVICE_UNAVAILABLE', // -1 after retries, timeouts, 5xx, garbage
  WECHAT_MISCONFIGURED: 'INTERNAL_SERVER_ERROR', // 40013 / 40125: our appid or secret, never the user's fault
  WECHAT_ERROR: 'BAD_GATEWAY', // any other errcode
  WECHAT_APP_UNKNOWN: 'BAD_REQUEST', // the request names no mini program this backend serves

  // Encrypted user data and rawData signature
  ENCRYPTED_DATA_INVALID: 'BAD_REQUEST', // does not decrypt with this session_key (often a stale key)
  WATERMARK_APPID_MISMATCH: 'BAD_REQUEST',
  WATERMARK_EXPIRED: 'BAD_REQUEST',
  SIGNATURE_INVALID: 'BAD_REQUEST',
  ENCRYPTED_DATA_INCOMPLETE: 'BAD_REQUEST', // encryptedData without iv, rawData without signature ...
  SESSION_KEY_STALE: 'BAD_REQUEST', // WeChat says our stored session_key is no longer valid: wx.login, then resend

  // WeChat Cloud Hosting (WECHAT_CLOUD_HOSTING=true)
  CLOUD_GATEWAY_REQUIRED: 'FORBIDDEN', // no X-WX-SOURCE: the request did not come through WeChat's gateway (or CloudID data outside the mode)
  CLOUD_IDENTITY_MISSING: 'UNAUTHORIZED', // through the gateway, but without a mini program user's openid and appid
  SESSION_KEY_UNAVAILABLE: 'BAD_REQUEST', // Cloud Hosting logins have no session_key: no legacy encrypted data, signatures or checkSession

  // Accounts
  USER_NOT_REGISTERED: 'UNAUTHORIZED',
  USER_EXISTS: 'CONFLICT',
  PHONE_ALREADY_BOUND: 'CONFLICT', // the number belongs to another user
  USER_BANNED: 'FORBIDDEN',
  USER_NOT_FOUND: 'UNAUTHORIZED',
  REGISTRATION_TICKET_INVALID: 'UNAUTHORIZED', // unknown, used, expired or tampered ticket
  ACCOUNT_DELETION_PENDING: 'FORBIDDEN', // the account is being deleted; data.scheduledFor says when (user.cancelDeletion until then)
  LOGIN_PROOF_MISMATCH: 'FORBIDDEN', // the wx.login code (or the gateway's caller) of user.deleteAccount names another user or app than the token
  NO_DELETION_PENDING: 'CONFLICT', // user.cancelDeletion: no deletion of this user that can still be cancelled

  // Our own access token
  TOKEN_MISSING: 'UNAUTHORIZED',
  TOKEN_INVALID: 'UNAUTHORIZED',
  TOKEN_EXPIRED: 'UNAUTHORIZED',
  SESSION_REVOKED: 'UNAUTHORIZED', // the token's session was logged out or revoked

  // Refresh tokens
  REFRESH_TOKEN_INVALID: 'UNAUTHORIZED', // unknown, or its session was logged out
  REFRESH_TOKEN_EXPIRED: 'UNAUTHORIZED',
  REFRESH_TOKEN_REUSED: 'UNAUTHORIZED', // an already rotated token: theft suspected, the whole session is revoked

  // Consent (CONSENT_VERSIONS)
  CONSENT_DOCUMENT_UNKNOWN: 'BAD_REQUEST', // a document CONSENT_VERSIONS does not name
  CONSENT_VERSION_NOT_CURRENT: 'BAD_REQUEST', // not the configured current version of the document: only that one can be accepted

  // Operators
  ADMIN_ONLY: 'FORBIDDEN', // an admin procedure called without admin rights (never granted over HTTP)

  // Abuse
  RATE_LIMITED: 'TOO_MANY_REQUESTS', // data.retryAfterS says when to try again

  // Us
  NOT_FOUND: 'NOT_FOUND',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE', // the database is unreachable
  INTERNAL: 'INTERNAL_SERVER_ERROR',
} as const;

/** The reasons of the core: a closed set, documented one by one in the README. */
export type ErrorReason = keyof typeof ERROR_REASONS;
export type ErrorCode = (typeof ERROR_REASONS)[ErrorReason];

export const ErrorReason = Object.fromEntries(
  Object.keys(ERROR_REASONS).map((k) => [k, k]),
) as { readonly [K in ErrorReason]: K };

export function isErrorReason(value: unknown): value is ErrorReason {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_REASONS, value);
}

/**
 * The reasons modules define (server/modules/<name>/reasons.ts), added by declaration merging so
 * that `new AppError(NoteReason.NOTE_NOT_FOUND, ...)` and a client's
 * `errorReason(err) === 'NOTE_NOT_FOUND'` type-check:
 *
 *     export const NoteReason = defineReasons({ NOTE_NOT_FOUND: 'NOT_FOUND' });
 *     type NoteReasons = typeof NoteReason;
 *     declare module '../../../shared/reasons' { interface ModuleReasons extends NoteReasons {} }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ModuleReasons {}

/** Any reason an error can carry: one of the core's or one a module defined. */
export type Reason = ErrorReason | (keyof ModuleReasons & string);

/** The tRPC codes a module's reason may travel under (tRPC's own list). */
export type ReasonCode = TRPC_ERROR_CODE_KEY;

/** What modules defined, by name; filled as their reasons.ts files are imported (by the router). */
const moduleReasons = new Map<string, ReasonCode>();

const REASON_NAME = /^[A-Z][A-Z0-9_]*$/;

/**
 * A module's own reasons, as data (like ERROR_REASONS): each name with the tRPC code it travels
 * under, which also gives its HTTP status. From then on they flow like the core's: the tRPC
 * error's `data.reason`, the REST error body, the client's `errorReason()`, the OpenAPI document.
 * Returns the names (`NoteReason.NOTE_NOT_FOUND === 'NOTE_NOT_FOUND'`): a service that throws one
 * imports it, so the reasons are defined before they can be thrown. A name may not be one of the
 * core's, or another module's with another code: a client switching on it must mean one thing.
 */
export function defineReasons<const R extends Record<string, ReasonCode>>(reasons: R): { readonly [K in keyof R]: K } {
  for (const [name, code] of Object.entries(reasons)) {
    if (!REASON_NAME.test(name)) throw new Error(`reason ${name}: write it in UPPER_SNAKE_CASE`);
    if (Object.prototype.hasOwnProperty.call(ERROR_REASONS, name)) throw new Error(`reason ${name} is one of the core's; name yours after your module`);
    const known = moduleReasons.get(name);
    if (known !== undefined && known !== code) throw new Error(`reason ${name} is already defined with ${known}`);
    moduleReasons.set(name, code);
  }
  return Object.fromEntries(Object.keys(reasons).map((name) => [name, name])) as { readonly [K in keyof R]: K };
}

/** The tRPC code of a reason, core or module; undefined for a name nobody defined. */
export function codeOfReason(reason: string): ReasonCode | undefined {
  if (Object.prototype.hasOwnProperty.call(ERROR_REASONS, reason)) return ERROR_REASONS[reason as ErrorReason];
  return moduleReasons.get(reason);
}

/** Every reason known now, core first, with its code: for documents and tests. */
export function allReasons(): Record<string, ReasonCode> {
  return { ...ERROR_REASONS, ...Object.fromEntries(moduleReasons) };
}
