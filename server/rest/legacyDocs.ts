import { z } from 'zod';
import type { ZodOpenApiPathsObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import { userOutput } from '../../shared';
import { errorBodySchema, issuesSchema, reasonSchema } from './errorSchema';

// The OpenAPI description of the compatibility routes (server/rest/legacyRoutes.ts): the shapes of
// the widely copied blog handlers, kept so an existing mini program works unchanged.

const LEGACY_NOTE =
  'Legacy: the request and response shapes of widely copied blog handlers, for existing mini programs. ' +
  'New clients use /api/auth/*. Unknown users follow AUTH_REGISTRATION: `explicit` answers USER_NOT_REGISTERED, ' +
  '`auto` registers them on their first login as those handlers did.';

const encryptedUserData = {
  encryptedData: z.string().optional().meta({ description: 'From wx.getUserInfo (with iv)' }),
  iv: z.string().optional(),
  rawData: z.string().optional().meta({ description: 'Verified with signature when sent' }),
  signature: z.string().optional(),
};

const tokenFields = {
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().meta({ description: 'Seconds until access_token expires' }),
  refresh_token: z.string().meta({ description: 'Single-use: trade it with grant_type=refresh_token' }),
  refresh_expires_in: z.number().int(),
};

export const legacyWxLoginRequest = z
  .object({
    platCode: z.string().meta({ description: 'The code of wx.login()' }),
    platUserInfoMap: z
      .looseObject({ encryptedData: z.string(), iv: z.string(), rawData: z.string().optional(), signature: z.string().optional() })
      .optional()
      .meta({ description: 'Optional: the result of wx.getUserInfo (other fields are ignored)' }),
  })
  .meta({ id: 'LegacyWxLoginRequest' });

export const legacyWxLoginResponse = z
  .object({
    code: z.literal(0),
    msg: z.literal('ok'),
    data: z.object({
      token: z.string().meta({ description: 'The access token: send it as Authorization: Bearer <token>' }),
      tokenType: z.literal('Bearer'),
      expiresIn: z.number().int(),
      refreshToken: z.string(),
      refreshExpiresIn: z.number().int(),
      isNewUser: z.boolean(),
      userInfo: userOutput,
    }),
  })
  .meta({ id: 'LegacyWxLoginResponse' });

export const legacyWxLoginFailure = z
  .object({
    code: z.number().int().meta({ description: 'Never 0: the HTTP status of the reason' }),
    msg: z.string(),
    reason: reasonSchema,
    data: z.null(),
    issues: issuesSchema.optional(),
    registrationTicket: z.string().optional().meta({ description: 'With USER_NOT_REGISTERED: for POST /api/auth/register' }),
    retryAfterS: z.number().int().optional(),
  })
  .meta({ id: 'LegacyWxLoginFailure' });

export const legacyOAuthTokenRequest = z
  .object({
    grant_type: z.string().optional().meta({ description: '`refresh_token` trades refresh_token; anything else (or nothing) logs in with code' }),
    code: z.string().optional().meta({ description: 'The code of wx.login()' }),
    ...encryptedUserData,
    refresh_token: z.string().optional(),
  })
  .meta({ id: 'LegacyOAuthTokenRequest' });

export const legacyOAuthToken = z.object(tokenFields).meta({ id: 'LegacyOAuthToken' });

export const legacyAccountRequest = z
  .object({
    code: z.string().optional().meta({ description: 'A fresh wx.login() code (or registration_ticket)' }),
    registration_ticket: z.string().optional().meta({ description: 'From a USER_NOT_REGISTERED answer of /oauth/token' }),
    ...encryptedUserData,
  })
  .meta({ id: 'LegacyAccountRequest' });

export const legacyAccountCreated = z.object({ ...tokenFields, user: userOutput }).meta({ id: 'LegacyAccountCreated' });

export const legacyOAuthError = z
  .object({
    error: reasonSchema,
    error_description: z.string(),
    issues: issuesSchema.optional(),
    registration_ticket: z.string().optional().meta({ description: 'With USER_NOT_REGISTERED' }),
    retry_after: z.number().int().optional().meta({ description: 'With RATE_LIMITED: seconds (also the Retry-After header)' }),
  })
  .meta({ id: 'LegacyOAuthError' });

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const jsonOrForm = (schema: z.ZodType) => ({ 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema } });

function failures(schema: z.ZodType, statuses: Record<number, string>): ZodOpenApiResponsesObject {
  return Object.fromEntries(Object.entries(statuses).map(([status, description]) => [status, { description, content: json(schema) }]));
}

const OAUTH_FAILURES = {
  400: 'INVALID_INPUT, WECHAT_CODE_INVALID, WECHAT_CODE_USED, ENCRYPTED_DATA_INVALID, SIGNATURE_INVALID ...',
  413: 'PAYLOAD_TOO_LARGE: the body is over BODY_LIMIT_BYTES',
  415: 'UNSUPPORTED_MEDIA_TYPE: the body is neither JSON nor (/oauth/token, /accounts/wxapp) a form',
  401: 'USER_NOT_REGISTERED (with registration_ticket), REGISTRATION_TICKET_INVALID, REFRESH_TOKEN_* ...',
  403: 'USER_BANNED, WECHAT_USER_BLOCKED',
  429: 'RATE_LIMITED (Retry-After), WECHAT_RATE_LIMITED',
  500: 'INTERNAL, WECHAT_MISCONFIGURED',
  502: 'WECHAT_ERROR',
  503: 'WECHAT_UNAVAILABLE, SERVICE_UNAVAILABLE',
};

/** Answered by the HTTP server itself before any route runs, so in the plain Error shape, not the route's. */
const BEFORE_ANY_ROUTE: ZodOpenApiResponsesObject = {
  408: { description: 'REQUEST_TIMEOUT: the request did not arrive whole within HTTP_REQUEST_TIMEOUT_MS', content: json(errorBodySchema) },
  431: { description: 'INVALID_INPUT: the request URL or headers are too large', content: json(errorBodySchema) },
};

export const legacyOpenApiPaths: ZodOpenApiPathsObject = {
  '/user/wxlogin': {
    post: {
      operationId: 'legacyWxLogin',
      tags: ['legacy'],
      deprecated: true,
      summary: 'Legacy: log in with { platCode, platUserInfoMap } (blog-handler shape)',
      description: `${LEGACY_NOTE} Success: \`{ code: 0, msg: 'ok', data: { token, userInfo, ... } }\`; failure: a non-zero \`code\` (the HTTP status), \`msg\` and \`reason\`.`,
      requestBody: { required: true, content: json(legacyWxLoginRequest) },
      responses: {
        200: { description: 'Logged in (in `auto` mode, a new user is created first)', content: json(legacyWxLoginResponse) },
        ...failures(legacyWxLoginFailure, OAUTH_FAILURES),
        ...BEFORE_ANY_ROUTE,
      },
    },
  },
  '/oauth/token': {
    post: {
      operationId: 'legacyOAuthToken',
      tags: ['legacy'],
      deprecated: true,
      summary: 'Legacy: OAuth2-style token from { code, encryptedData, iv } (Django-style pair with /accounts/wxapp)',
      description: `${LEGACY_NOTE} An unregistered user gets 401 \`{ error: 'USER_NOT_REGISTERED' }\`: register at /accounts/wxapp, then ask again with a fresh code.`,
      requestBody: { required: true, content: jsonOrForm(legacyOAuthTokenRequest) },
      responses: {
        200: { description: 'The token response (RFC 6749 §5.1)', content: json(legacyOAuthToken) },
        ...failures(legacyOAuthError, OAUTH_FAILURES),
        ...BEFORE_ANY_ROUTE,
      },
    },
  },
  '/accounts/wxapp': {
    post: {
      operationId: 'legacyAccountsWxapp',
      tags: ['legacy'],
      deprecated: true,
      summary: 'Legacy: register from { code, encryptedData, iv } (Django-style pair with /oauth/token)',
      description: `${LEGACY_NOTE} Answers 201 with the token response and the user; an existing user gets 409 USER_EXISTS.`,
      requestBody: { required: true, content: jsonOrForm(legacyAccountRequest) },
      responses: {
        201: { description: 'Registered and logged in', content: json(legacyAccountCreated) },
        ...failures(legacyOAuthError, { ...OAUTH_FAILURES, 409: 'USER_EXISTS' }),
        ...BEFORE_ANY_ROUTE,
      },
    },
  },
};
