import type { AnyProcedure } from '@trpc/server';
import { z } from 'zod';
import { userOutput } from '../../shared';
import { appRouter, type AppRouter } from '../root';

/** 'ping' | 'auth.login' | ...: every procedure of a router record, dotted. */
type ProcedurePaths<R, P extends string = ''> = {
  [K in keyof R & string]: R[K] extends AnyProcedure ? `${P}${K}` : ProcedurePaths<R[K], `${P}${K}.`>;
}[keyof R & string];

/** The procedures REST clients may call: all of them but the operators' (admin.*). */
export type PublicProcedurePath = Exclude<ProcedurePaths<AppRouter['_def']['record']>, `admin.${string}`>;

export interface RestRoute {
  method: 'GET' | 'POST';
  path: `/api/${string}`;
  tag: 'auth' | 'user' | 'health';
  summary: string;
  /** Needs `Authorization: Bearer <accessToken>` (a protectedProcedure). */
  protect: boolean;
  /**
   * The error statuses of the procedure's own reasons (429 where it is rate limited); those of the
   * HTTP edge (400, 408, 413, 415, 431, 500, 503, and 401/403 with a token) are added for the
   * document by routeStatuses.ts. Every one carries the Error body.
   */
  errors: readonly number[];
  /** For the document only, where the procedure itself declares no output schema. */
  output?: z.ZodType;
}

/**
 * The REST face of every public procedure: one route each, documented under the same path in
 * /openapi.json. Typed against the router: a public procedure without a route here does not compile.
 */
export const REST_ROUTES: Readonly<Record<PublicProcedurePath, RestRoute>> = {
  ping: { method: 'GET', path: '/api/ping', tag: 'health', protect: false, errors: [], summary: 'Liveness: answers "pong"', output: z.literal('pong') },
  'auth.login': {
    method: 'POST',
    path: '/api/auth/login',
    tag: 'auth',
    protect: false,
    errors: [401, 403, 429, 502],
    summary: 'Log in with a wx.login code (unknown user: 401 USER_NOT_REGISTERED with a registrationTicket)',
  },
  'auth.register': {
    method: 'POST',
    path: '/api/auth/register',
    tag: 'auth',
    protect: false,
    errors: [401, 403, 409, 429, 502],
    summary: 'Register with a wx.login code or the registrationTicket of a USER_NOT_REGISTERED login',
  },
  'auth.refresh': {
    method: 'POST',
    path: '/api/auth/refresh',
    tag: 'auth',
    protect: false,
    errors: [401, 403, 429],
    summary: 'Trade a refresh token for a new token pair (single-use; a reused token revokes the session)',
  },
  'auth.logout': { method: 'POST', path: '/api/auth/logout', tag: 'auth', protect: true, errors: [], summary: 'End the session of this access token' },
  'auth.logoutAll': { method: 'POST', path: '/api/auth/logout-all', tag: 'auth', protect: true, errors: [], summary: 'End every session of the user' },
  'auth.me': { method: 'GET', path: '/api/auth/me', tag: 'auth', protect: true, errors: [], summary: 'The user of this access token', output: userOutput },
  'user.sessions': { method: 'GET', path: '/api/user/sessions', tag: 'user', protect: true, errors: [], summary: "The user's live sessions, most recently used first, a page at a time (limit, offset)" },
  'user.bindPhone': {
    method: 'POST',
    path: '/api/user/bind-phone',
    tag: 'user',
    protect: true,
    errors: [400, 409, 429, 502],
    summary: 'Bind the phone number of the getPhoneNumber button (its code, or legacy encryptedData + iv)',
  },
  'user.updateProfile': {
    method: 'POST',
    path: '/api/user/update-profile',
    tag: 'user',
    protect: true,
    errors: [400, 429],
    summary: 'Set the nickname and/or avatar URL from the fill-in components',
  },
  'user.checkSession': {
    method: 'GET',
    path: '/api/user/check-session',
    tag: 'user',
    protect: true,
    errors: [429, 502],
    summary: 'Whether the stored session_key is still the one WeChat holds',
  },
};

export const restRouteEntries = () => Object.entries(REST_ROUTES) as [PublicProcedurePath, RestRoute][];

/** A procedure's definition (type, inputs, output parser ...) by dotted path, as tRPC keeps it at run time. */
export function procedureDef(path: string): ({ inputs: unknown[]; output?: unknown } & Record<string, unknown>) | undefined {
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { inputs: unknown[] } & Record<string, unknown> } | undefined>;
  return procedures[path]?._def;
}
