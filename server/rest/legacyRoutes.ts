import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LoginInput, LoginOutput, RefreshInput, RegisterInput, RegisterOutput } from '../../shared';
import type { AppServices } from '../appServices';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import { callerForRequest } from './callProcedure';
import { describeIssues } from '../errors/classify';
import { toRestError, type RestError } from './restErrors';

// Compatibility routes: the request and response shapes of the widely copied blog handlers, so an
// existing mini program keeps working while its backend is replaced. They call the very procedures
// /api and /trpc call (validation, errors, rate limits included) and only reshape what goes in and
// out. Documented in server/rest/legacyDocs.ts.

type Fields = Record<string, unknown>;

function asFields(value: unknown): Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : {};
}

/** Only the fields present: an absent field stays absent for the procedure's schema. */
function defined(fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

/** The procedure's issue paths in the legacy field names, so the client sees what it sent. */
function renameIssues(error: RestError, names: Record<string, (string | number)[]>): RestError {
  if (!error.issues) return error;
  const issues = error.issues.map((i) => {
    const [head, ...rest] = i.path;
    const renamed = typeof head === 'string' ? names[head] : undefined;
    return renamed ? { ...i, path: [...renamed, ...rest] } : i;
  });
  return { ...error, issues, message: describeIssues(issues) };
}

function encryptedUserData(fields: Fields): Fields {
  return { encryptedData: fields.encryptedData, iv: fields.iv, rawData: fields.rawData, signature: fields.signature };
}

// ---- POST /user/wxlogin: { platCode, platUserInfoMap } → { code: 0, msg: 'ok', data: { token, userInfo } }

const WX_LOGIN_NAMES: Record<string, string[]> = {
  code: ['platCode'],
  encryptedData: ['platUserInfoMap', 'encryptedData'],
  iv: ['platUserInfoMap', 'iv'],
  rawData: ['platUserInfoMap', 'rawData'],
  signature: ['platUserInfoMap', 'signature'],
};

function wxLoginInput(body: unknown): Fields {
  const fields = asFields(body);
  let map = fields.platUserInfoMap;
  // Some copies send the map JSON-encoded.
  if (typeof map === 'string' && map.trim().startsWith('{')) {
    try {
      map = JSON.parse(map) as unknown;
    } catch {
      // reported below
    }
  }
  if (map !== undefined && map !== null && (typeof map !== 'object' || Array.isArray(map))) {
    const issue = { path: ['platUserInfoMap'], message: 'Expected the object wx.getUserInfo returned', code: 'invalid_type' };
    throw new AppError('INVALID_INPUT', `Invalid input: platUserInfoMap: ${issue.message}`, { issues: [issue] });
  }
  return defined({ code: fields.platCode, ...encryptedUserData(asFields(map)) });
}

function sendWxLoginFailure(reply: FastifyReply, error: RestError) {
  const { status, reason, message, ...extra } = renameIssues(error, WX_LOGIN_NAMES);
  if (extra.retryAfterS !== undefined) reply.header('retry-after', String(extra.retryAfterS));
  return reply.code(status).send({ code: status, msg: message, reason, data: null, ...extra });
}

// ---- POST /oauth/token and POST /accounts/wxapp: the Django-style pair, OAuth2 token responses

const OAUTH_NAMES: Record<string, string[]> = { refreshToken: ['refresh_token'], registrationTicket: ['registration_ticket'] };

type TokenPair = Pick<LoginOutput, 'accessToken' | 'expiresIn' | 'refreshToken' | 'refreshExpiresIn'>;

function oauthToken(pair: TokenPair) {
  return {
    access_token: pair.accessToken,
    token_type: 'Bearer' as const,
    expires_in: pair.expiresIn,
    refresh_token: pair.refreshToken,
    refresh_expires_in: pair.refreshExpiresIn,
  };
}

function sendOAuthFailure(reply: FastifyReply, error: RestError) {
  const { status, reason, message, issues, registrationTicket, retryAfterS } = renameIssues(error, OAUTH_NAMES);
  if (retryAfterS !== undefined) reply.header('retry-after', String(retryAfterS));
  return reply
    .code(status)
    .send(defined({ error: reason, error_description: message, issues, registration_ticket: registrationTicket, retry_after: retryAfterS }));
}

function sendJson(reply: FastifyReply, status: number, body: unknown) {
  // JSON.stringify: Dates become ISO strings, as everywhere in the REST answers.
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

/** A failure of a legacy route in that route's own shape (also for refusals before its handler ran). */
export function sendLegacyFailure(req: FastifyRequest, reply: FastifyReply, error: RestError) {
  return req.url.split('?')[0] === '/user/wxlogin' ? sendWxLoginFailure(reply, error) : sendOAuthFailure(reply, error);
}

/**
 * `POST /user/wxlogin`, `POST /oauth/token` and `POST /accounts/wxapp` (see README, "REST, OpenAPI
 * and legacy routes").
 */
export function registerLegacyRoutes(scope: FastifyInstance, services: AppServices): void {
  const log = (req: FastifyRequest) => req.log as Logger;

  scope.post('/user/wxlogin', async (req, reply) => {
    try {
      const login = await callerForRequest(services, req).auth.login(wxLoginInput(req.body) as LoginInput);
      const { accessToken, tokenType, expiresIn, refreshToken, refreshExpiresIn, isNewUser, user } = login;
      return sendJson(reply, 200, {
        code: 0,
        msg: 'ok',
        data: { token: accessToken, tokenType, expiresIn, refreshToken, refreshExpiresIn, isNewUser, userInfo: user },
      });
    } catch (err) {
      return sendWxLoginFailure(reply, toRestError(err, log(req)));
    }
  });

  scope.post('/oauth/token', async (req, reply) => {
    const fields = asFields(req.body);
    try {
      const caller = callerForRequest(services, req);
      const pair: TokenPair =
        fields.grant_type === 'refresh_token'
          ? await caller.auth.refresh(defined({ refreshToken: fields.refresh_token }) as RefreshInput)
          : await caller.auth.login(defined({ code: fields.code, ...encryptedUserData(fields) }) as LoginInput);
      return sendJson(reply, 200, oauthToken(pair));
    } catch (err) {
      return sendOAuthFailure(reply, toRestError(err, log(req)));
    }
  });

  scope.post('/accounts/wxapp', async (req, reply) => {
    const fields = asFields(req.body);
    try {
      const input = defined({ code: fields.code, registrationTicket: fields.registration_ticket, ...encryptedUserData(fields) });
      const created: RegisterOutput = await callerForRequest(services, req).auth.register(input as RegisterInput);
      return sendJson(reply, 201, { ...oauthToken(created), user: created.user });
    } catch (err) {
      return sendOAuthFailure(reply, toRestError(err, log(req)));
    }
  });
}
