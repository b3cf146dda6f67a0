import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3 } from 'openapi-types';
import { describe, expect, it } from 'vitest';
import { allReasons, ERROR_REASONS } from '../shared';
import { appRouter } from '../server/root';
import { uniqueOpenId, useTestBackend, type TestBackend } from './helpers/testBackend';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

interface Answer {
  status: number;
  headers: Headers;
  body: Json;
  text: string;
}

/** A JSON request as a uni-app / Taro / wx.request client sends it. */
async function call(t: TestBackend, method: 'GET' | 'POST', path: string, opts: { body?: unknown; token?: string; raw?: string; type?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined || opts.body !== undefined) {
    headers['content-type'] = opts.type ?? 'application/json';
    body = opts.raw ?? JSON.stringify(opts.body);
  }
  const res = await t.fetch(path, { method, headers, body });
  const text = await res.text();
  if (res.status >= 400) expect(text, `${method} ${path}`).not.toMatch(/stack|\bat .*\.(ts|js):\d+/);
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Json) : {}, text };
}

/** A failed /api call: the status, the reason, and the `{ error: { reason, message } }` shape. */
function expectError(answer: Answer, status: number, reason: string) {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.body.error.reason, answer.text).toBe(reason);
  expect(typeof answer.body.error.message).toBe('string');
  expect(Object.keys(answer.body.error).every((k) => ['reason', 'message', 'issues', 'registrationTicket', 'retryAfterS'].includes(k))).toBe(true);
  return answer.body.error as Json;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const phoneOf = () => ({ purePhoneNumber: `137${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`, countryCode: '86' });

type Defs = Record<string, { _def: { meta?: { openapi?: unknown } } }>;
/** The procedures that declare a REST route beside them (`.meta({ openapi })`): opt-in. */
const exposedProcedures = () => Object.entries(appRouter._def.procedures as unknown as Defs).filter(([, p]) => p._def.meta?.openapi).map(([path]) => path);
const adminProcedures = () => Object.keys(appRouter._def.procedures).filter((p) => p.startsWith('admin.'));

describe('REST API, OpenAPI document and legacy routes (explicit registration)', () => {
  const t = useTestBackend();

  /** A registered user through the REST routes: login → 401 with a ticket → register with it. */
  async function signUp(openid = uniqueOpenId('rest')) {
    const first = await call(t, 'POST', '/api/auth/login', { body: { code: t.wxLogin(openid) } });
    const ticket = expectError(first, 401, 'USER_NOT_REGISTERED').registrationTicket as string;
    const reg = await call(t, 'POST', '/api/auth/register', { body: { registrationTicket: ticket, profile: { nickName: 'Rest' } } });
    expect(reg.status, reg.text).toBe(200);
    return { openid, token: reg.body.accessToken as string, refreshToken: reg.body.refreshToken as string, user: reg.body.user as Json };
  }

  describe('GET /openapi.json', () => {
    async function document(): Promise<OpenAPIV3.Document> {
      const res = await call(t, 'GET', '/openapi.json');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      return res.body as OpenAPIV3.Document;
    }
    const operations = (doc: OpenAPIV3.Document) =>
      Object.entries(doc.paths).flatMap(([path, item]) =>
        (['get', 'post'] as const).flatMap((method) => (item?.[method] ? [{ path, method, op: item[method] as OpenAPIV3.OperationObject & Json }] : [])),
      );

    it('is a valid OpenAPI 3 document', async () => {
      const doc = await document();
      expect(doc.openapi).toMatch(/^3\./);
      await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
    });

    it('has every procedure that declares a route (every core public one among them), no admin procedure, and security exactly on the protected ones', async () => {
      const doc = await document();
      const ops = operations(doc).filter((o) => o.op['x-trpc-procedure']);
      expect(ops.map((o) => o.op['x-trpc-procedure']).sort()).toEqual(exposedProcedures().sort());
      const core = Object.keys(appRouter._def.procedures).filter((p) => /^(ping|auth\.|user\.)/.test(p));
      expect(exposedProcedures()).toEqual(expect.arrayContaining(core));
      for (const admin of adminProcedures()) expect(JSON.stringify(doc)).not.toContain(`"${admin}"`);
      expect(Object.keys(doc.paths).filter((p) => /admin/i.test(p))).toEqual([]);

      // Protected means: without a token the route answers TOKEN_MISSING. Ask every route.
      for (const { path, method, op } of ops) {
        const answer = await call(t, method === 'get' ? 'GET' : 'POST', path, method === 'post' ? { body: {} } : {});
        const declared = (op.security ?? []).some((s: Json) => 'bearerAuth' in s);
        expect(answer.body.error?.reason === 'TOKEN_MISSING', `${method} ${path}: ${answer.text}`).toBe(declared);
      }
      expect(doc.components?.securitySchemes?.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    });

    it('documents the inputs and outputs from the zod schemas, dates as date-time strings', async () => {
      const doc = await document();
      const login = doc.paths['/api/auth/login']!.post!;
      const body = (login.requestBody as OpenAPIV3.RequestBodyObject).content['application/json']!.schema as OpenAPIV3.SchemaObject;
      // Optional in the document: on WeChat Cloud Hosting no code is sent (the description says so).
      expect(body.required ?? []).toEqual([]);
      expect((body.properties!.code as OpenAPIV3.SchemaObject).description).toMatch(/required, except on WeChat Cloud Hosting/);
      expect(Object.keys(body.properties!)).toEqual(expect.arrayContaining(['code', 'encryptedData', 'iv', 'rawData', 'signature']));
      const user = doc.components!.schemas!.User as OpenAPIV3.SchemaObject;
      expect(user.properties!.createdAt).toMatchObject({ type: 'string', format: 'date-time' });
      expect(doc.paths['/api/auth/me']!.get!.responses['200']).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/Me' } } } });
      const me = doc.components!.schemas!.Me as OpenAPIV3.SchemaObject;
      expect(me.properties!.consentRequired).toMatchObject({ type: 'array', items: { type: 'string' } });
    });

    it('points every error response at one Error schema that lists every reason', async () => {
      const doc = await document();
      const reason = doc.components!.schemas!.ErrorReason as OpenAPIV3.SchemaObject;
      // The core's and those the modules define (the example module's NOTE_NOT_FOUND).
      expect([...(reason.enum ?? [])].sort()).toEqual(Object.keys(allReasons()).sort());
      expect(reason.enum).toEqual(expect.arrayContaining([...Object.keys(ERROR_REASONS), 'NOTE_NOT_FOUND']));
      const error = doc.components!.schemas!.Error as OpenAPIV3.SchemaObject;
      expect((error.properties!.error as OpenAPIV3.SchemaObject).properties!.reason).toEqual({ $ref: '#/components/schemas/ErrorReason' });
      for (const { path, op } of operations(doc).filter((o) => o.op['x-trpc-procedure'])) {
        const errors = Object.entries(op.responses).filter(([status]) => status !== '200');
        expect(errors.length, path).toBeGreaterThan(0);
        for (const [, response] of errors) {
          expect((response as OpenAPIV3.ResponseObject).content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/Error' });
        }
      }
      expect(doc.paths['/api/auth/login']!.post!.responses['429']).toMatchObject({ headers: { 'Retry-After': {} } });
    });

    it('lists the statuses every route can answer: 400, 408, 431, 500, 503 everywhere; 413 and 415 where a body is read; 401 and 403 with a token', async () => {
      const doc = await document();
      for (const { path, method, op } of operations(doc)) {
        const statuses = Object.keys(op.responses);
        const expected = ['400', '408', '431', '500', '503'];
        if (method === 'post') expected.push('413', '415');
        if ((op.security ?? []).length) expected.push('401', '403');
        expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(expected));
      }
      // The rate limited ones: per IP (auth), per user (the calls that reach WeChat or write), and the export.
      const limited = operations(doc).filter((o) => o.op.responses['429']).map((o) => o.op['x-trpc-procedure'] ?? o.path);
      expect(limited.sort()).toEqual(
        [
          '/accounts/wxapp',
          '/oauth/token',
          '/user/wxlogin',
          'auth.login',
          'auth.refresh',
          'auth.register',
          'user.bindPhone',
          'user.cancelDeletion',
          'user.checkSession',
          'user.deleteAccount',
          'user.updateProfile',
          'user.recordConsent',
          'user.exportData',
        ].sort(),
      );
    });

    it('documents the legacy routes as deprecated', async () => {
      const doc = await document();
      for (const path of ['/user/wxlogin', '/oauth/token', '/accounts/wxapp']) {
        const op = doc.paths[path]!.post!;
        expect(op.deprecated, path).toBe(true);
        expect(op.tags).toEqual(['legacy']);
      }
    });
  });

  describe('/api routes', () => {
    it('GET /api/ping answers "pong" as JSON', async () => {
      const res = await call(t, 'GET', '/api/ping');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body).toBe('pong');
      expectError(await call(t, 'POST', '/api/ping', { body: {} }), 404, 'NOT_FOUND');
    });

    it('POST /api/auth/login: 401 USER_NOT_REGISTERED with a ticket, then 200 once registered; 400 with issues', async () => {
      const { openid, user } = await signUp();
      const res = await call(t, 'POST', '/api/auth/login', { body: { code: t.wxLogin(openid) } });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ tokenType: 'Bearer', isNewUser: false, user: { id: user.id, openId: openid, nickName: 'Rest' } });
      expect(res.body.user.lastLoginAt).toMatch(ISO_DATE);

      const bad = expectError(await call(t, 'POST', '/api/auth/login', { body: {} }), 400, 'INVALID_INPUT');
      expect(bad.issues).toEqual([expect.objectContaining({ path: ['code'] })]);
      expect(bad.message).toMatch(/^Invalid input: code: /);
      expectError(await call(t, 'POST', '/api/auth/login', { raw: '{"code":' }), 400, 'INVALID_INPUT');
      expectError(await call(t, 'POST', '/api/auth/login'), 400, 'INVALID_INPUT'); // no body at all
      expectError(await call(t, 'POST', '/api/auth/login', { body: { code: t.sim.app.failingCode(40029) } }), 400, 'WECHAT_CODE_INVALID');
    });

    it('POST /api/auth/register: with the ticket (dates as ISO strings); 409 USER_EXISTS; 401 for a bad ticket', async () => {
      const { openid } = await signUp();
      const again = await call(t, 'POST', '/api/auth/register', { body: { code: t.wxLogin(openid) } });
      expectError(again, 409, 'USER_EXISTS');
      expectError(await call(t, 'POST', '/api/auth/register', { body: { registrationTicket: 'nope' } }), 401, 'REGISTRATION_TICKET_INVALID');
      const both = expectError(await call(t, 'POST', '/api/auth/register', { body: { code: 'a', registrationTicket: 'b' } }), 400, 'INVALID_INPUT');
      expect(both.issues[0].path).toEqual(['code']);

      const fresh = uniqueOpenId('reg');
      const reg = await call(t, 'POST', '/api/auth/register', { body: { code: t.wxLogin(fresh), profile: { nickName: 'Fresh' } } });
      expect(reg.status, reg.text).toBe(200);
      expect(reg.body.createdAt).toMatch(ISO_DATE);
      expect(reg.body.user).toMatchObject({ openId: fresh, nickName: 'Fresh' });
    });

    it('POST /api/auth/refresh rotates; the used token again is REFRESH_TOKEN_REUSED', async () => {
      const s = await signUp();
      const res = await call(t, 'POST', '/api/auth/refresh', { body: { refreshToken: s.refreshToken } });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.any(String) });
      expect(res.body.refreshToken).not.toBe(s.refreshToken);
      expectError(await call(t, 'POST', '/api/auth/refresh', { body: { refreshToken: s.refreshToken } }), 401, 'REFRESH_TOKEN_REUSED');
      expectError(await call(t, 'POST', '/api/auth/refresh', { body: { refreshToken: '' } }), 400, 'INVALID_INPUT');
    });

    it('GET /api/auth/me with Bearer; TOKEN_MISSING and TOKEN_INVALID without a good one', async () => {
      const s = await signUp();
      const me = await call(t, 'GET', '/api/auth/me', { token: s.token });
      expect(me.status, me.text).toBe(200);
      expect(me.body).toMatchObject({ id: s.user.id, openId: s.openid, status: 'active', phone: null });
      expect(me.body.createdAt).toMatch(ISO_DATE);
      expectError(await call(t, 'GET', '/api/auth/me'), 401, 'TOKEN_MISSING');
      expectError(await call(t, 'GET', '/api/auth/me', { token: 'not.a.jwt' }), 401, 'TOKEN_INVALID');
    });

    it('GET /api/user/sessions lists the sessions, the asking one current', async () => {
      const s = await signUp();
      const res = await call(t, 'GET', '/api/user/sessions', { token: s.token });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual([expect.objectContaining({ current: true, createdAt: expect.stringMatching(ISO_DATE) })]);
      expectError(await call(t, 'GET', '/api/user/sessions'), 401, 'TOKEN_MISSING');
    });

    it('GET with input: /api/user/sessions?limit=&offset= takes numbers from the query string, as the document says', async () => {
      const s = await signUp();
      for (let i = 0; i < 2; i++) expect((await call(t, 'POST', '/api/auth/login', { body: { code: t.wxLogin(s.openid) } })).status).toBe(200);
      const all = await call(t, 'GET', '/api/user/sessions', { token: s.token });
      expect(all.body).toHaveLength(3);

      const first = await call(t, 'GET', '/api/user/sessions?limit=2', { token: s.token });
      expect(first.status, first.text).toBe(200);
      expect(first.body.map((x: Json) => x.id)).toEqual(all.body.slice(0, 2).map((x: Json) => x.id));
      const rest = await call(t, 'GET', '/api/user/sessions?limit=2&offset=2', { token: s.token });
      expect(rest.status, rest.text).toBe(200);
      expect(rest.body.map((x: Json) => x.id)).toEqual([all.body[2].id]);

      for (const query of ['limit=abc', 'limit=0', 'limit=2.5', 'limit=101', 'offset=-1', 'limit=', 'limit=1&limit=2']) {
        const bad = expectError(await call(t, 'GET', `/api/user/sessions?${query}`, { token: s.token }), 400, 'INVALID_INPUT');
        expect(bad.issues[0].path, query).toEqual([query.split('=')[0]]);
      }
      // The same procedure over tRPC, typed.
      expect(await t.client({ token: s.token }).user.sessions.query({ limit: 1, offset: 1 })).toHaveLength(1);

      const doc = (await call(t, 'GET', '/openapi.json')).body as OpenAPIV3.Document;
      const parameters = doc.paths['/api/user/sessions']!.get!.parameters as OpenAPIV3.ParameterObject[];
      expect(parameters.map((p) => [p.name, p.in, (p.schema as OpenAPIV3.SchemaObject).type])).toEqual([
        ['limit', 'query', 'integer'],
        ['offset', 'query', 'integer'],
      ]);
    });

    it('POST /api/user/bind-phone with the getPhoneNumber code; 400 without input; 409 for a taken number', async () => {
      const a = await signUp();
      const phone = phoneOf();
      const res = await call(t, 'POST', '/api/user/bind-phone', { token: a.token, body: { code: t.sim.app.phoneCode(a.openid, phone) } });
      expect(res.status, res.text).toBe(200);
      expect(res.body.phone).toEqual({ countryCode: '86', purePhoneNumber: phone.purePhoneNumber, phoneNumber: phone.purePhoneNumber });
      const bad = expectError(await call(t, 'POST', '/api/user/bind-phone', { token: a.token, body: {} }), 400, 'INVALID_INPUT');
      expect(bad.issues.length).toBeGreaterThan(0);
      const b = await signUp();
      expectError(await call(t, 'POST', '/api/user/bind-phone', { token: b.token, body: { code: t.sim.app.phoneCode(b.openid, phone) } }), 409, 'PHONE_ALREADY_BOUND');
    });

    it('POST /api/user/update-profile; a non-https avatar is 400 with the issue path', async () => {
      const s = await signUp();
      const res = await call(t, 'POST', '/api/user/update-profile', { token: s.token, body: { nickName: 'Renamed' } });
      expect(res.status, res.text).toBe(200);
      expect(res.body.nickName).toBe('Renamed');
      const bad = expectError(await call(t, 'POST', '/api/user/update-profile', { token: s.token, body: { avatarUrl: 'http://x.example.com/a.png' } }), 400, 'INVALID_INPUT');
      expect(bad.issues).toEqual([expect.objectContaining({ path: ['avatarUrl'] })]);
    });

    it('GET /api/user/check-session answers { valid }', async () => {
      const s = await signUp();
      const res = await call(t, 'GET', '/api/user/check-session', { token: s.token });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ valid: true });
      expectError(await call(t, 'GET', '/api/user/check-session', { token: t.signToken({ sid: 'x', exp: Math.floor(Date.now() / 1000) - 10 }, { subject: s.user.id as string }) }), 401, 'TOKEN_EXPIRED');
    });

    it('POST /api/auth/logout ends the session (also with an empty JSON body); logout-all ends the others', async () => {
      const s = await signUp();
      const second = await call(t, 'POST', '/api/auth/login', { body: { code: t.wxLogin(s.openid) } });
      const third = await call(t, 'POST', '/api/auth/login', { body: { code: t.wxLogin(s.openid) } });

      const out = await call(t, 'POST', '/api/auth/logout', { token: s.token, raw: '' });
      expect(out.status, out.text).toBe(200);
      expect(out.body).toEqual({ ok: true });
      expectError(await call(t, 'GET', '/api/auth/me', { token: s.token }), 401, 'SESSION_REVOKED');
      expectError(await call(t, 'POST', '/api/auth/logout', { token: s.token }), 401, 'SESSION_REVOKED');

      const all = await call(t, 'POST', '/api/auth/logout-all', { token: second.body.accessToken as string });
      expect(all.status, all.text).toBe(200);
      expect(all.body).toEqual({ revokedSessions: 2 });
      expectError(await call(t, 'GET', '/api/auth/me', { token: third.body.accessToken as string }), 401, 'SESSION_REVOKED');
      expectError(await call(t, 'POST', '/api/auth/logout-all'), 401, 'TOKEN_MISSING');
    });

    it('refuses what is not JSON, and a body over the limit, in the same error shape', async () => {
      expectError(await call(t, 'POST', '/api/auth/login', { raw: 'code=x', type: 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await call(t, 'POST', '/api/auth/login', { raw: JSON.stringify({ code: 'x'.repeat(70_000) }) }), 413, 'PAYLOAD_TOO_LARGE');
      expectError(await call(t, 'POST', '/api/auth/login', { raw: '{"__proto__":{"x":1},"code":"a"}' }), 400, 'INVALID_INPUT');
    });
  });

  describe('legacy routes', () => {
    it('POST /oauth/token → 401 USER_NOT_REGISTERED → POST /accounts/wxapp → POST /oauth/token', async () => {
      const openid = uniqueOpenId('django');
      const first = await call(t, 'POST', '/oauth/token', { body: { code: t.wxLogin(openid) } });
      expect(first.status, first.text).toBe(401);
      expect(first.body).toMatchObject({ error: 'USER_NOT_REGISTERED', error_description: expect.any(String), registration_ticket: expect.any(String) });

      const code = t.wxLogin(openid);
      const { encryptedData, iv } = t.sim.app.userInfo(openid, { nickName: 'Django', city: 'Hangzhou' });
      const created = await call(t, 'POST', '/accounts/wxapp', { body: { code, encryptedData, iv } });
      expect(created.status, created.text).toBe(201);
      expect(created.body).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), user: { openId: openid, nickName: 'Django', city: 'Hangzhou' } });
      expect(created.body.user.createdAt).toMatch(ISO_DATE);

      const token = await call(t, 'POST', '/oauth/token', { body: { code: t.wxLogin(openid) } });
      expect(token.status, token.text).toBe(200);
      expect(token.headers.get('cache-control')).toBe('no-store');
      expect(Object.keys(token.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_expires_in', 'refresh_token', 'token_type']);
      expect(token.body).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number) });
      const me = await call(t, 'GET', '/api/auth/me', { token: token.body.access_token as string });
      expect(me.body).toMatchObject({ openId: openid, nickName: 'Django' });

      // The refresh grant, form-encoded as OAuth2 clients send it.
      const refreshed = await call(t, 'POST', '/oauth/token', {
        raw: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token.body.refresh_token as string }).toString(),
        type: 'application/x-www-form-urlencoded',
      });
      expect(refreshed.status, refreshed.text).toBe(200);
      expect(refreshed.body.refresh_token).not.toBe(token.body.refresh_token);

      // Errors in the OAuth2 style, with our reasons.
      const exists = await call(t, 'POST', '/accounts/wxapp', { body: { code: t.wxLogin(openid) } });
      expect(exists.status).toBe(409);
      expect(exists.body.error).toBe('USER_EXISTS');
      const missing = await call(t, 'POST', '/oauth/token', { body: {} });
      expect(missing.status).toBe(400);
      expect(missing.body).toMatchObject({ error: 'INVALID_INPUT', issues: [expect.objectContaining({ path: ['code'] })] });
      const badRefresh = await call(t, 'POST', '/oauth/token', { body: { grant_type: 'refresh_token' } });
      expect(badRefresh.body).toMatchObject({ error: 'INVALID_INPUT', issues: [expect.objectContaining({ path: ['refresh_token'] })] });
      const badJson = await call(t, 'POST', '/oauth/token', { raw: '{' });
      expect(badJson.status).toBe(400);
      expect(badJson.body.error).toBe('INVALID_INPUT');
    });

    it('POST /accounts/wxapp also takes the registration_ticket of the 401', async () => {
      const openid = uniqueOpenId('ticket');
      const first = await call(t, 'POST', '/oauth/token', { body: { code: t.wxLogin(openid) } });
      const created = await call(t, 'POST', '/accounts/wxapp', { body: { registration_ticket: first.body.registration_ticket } });
      expect(created.status, created.text).toBe(201);
      expect(created.body.user.openId).toBe(openid);
    });

    it('POST /user/wxlogin: unknown user fails with reason USER_NOT_REGISTERED; once registered, { code: 0, data: { token, userInfo } }', async () => {
      const openid = uniqueOpenId('blog');
      const first = await call(t, 'POST', '/user/wxlogin', { body: { platCode: t.wxLogin(openid) } });
      expect(first.status, first.text).toBe(401);
      expect(first.body).toMatchObject({ code: 401, msg: expect.any(String), reason: 'USER_NOT_REGISTERED', data: null, registrationTicket: expect.any(String) });
      const reg = await call(t, 'POST', '/api/auth/register', { body: { registrationTicket: first.body.registrationTicket } });
      expect(reg.status, reg.text).toBe(200);

      // Without platUserInfoMap.
      const plain = await call(t, 'POST', '/user/wxlogin', { body: { platCode: t.wxLogin(openid) } });
      expect(plain.status, plain.text).toBe(200);
      expect(plain.body).toMatchObject({ code: 0, msg: 'ok', data: { token: expect.any(String), isNewUser: false, userInfo: { openId: openid } } });
      expect((await call(t, 'GET', '/api/auth/me', { token: plain.body.data.token as string })).status).toBe(200);

      // With platUserInfoMap: the whole wx.getUserInfo result, as copied handlers send it.
      const code = t.wxLogin(openid);
      const info = t.sim.app.userInfo(openid, { nickName: 'Blog Reader', city: 'Chengdu' });
      const withInfo = await call(t, 'POST', '/user/wxlogin', { body: { platCode: code, platUserInfoMap: { ...info, errMsg: 'getUserInfo:ok' } } });
      expect(withInfo.status, withInfo.text).toBe(200);
      expect(withInfo.body.data.userInfo).toMatchObject({ openId: openid, nickName: 'Blog Reader', city: 'Chengdu' });
      expect(withInfo.body.data.userInfo.createdAt).toMatch(ISO_DATE);
    });

    it('POST /user/wxlogin failures name the fields the client sent', async () => {
      const missing = await call(t, 'POST', '/user/wxlogin', { body: {} });
      expect(missing.status).toBe(400);
      expect(missing.body).toMatchObject({ code: 400, reason: 'INVALID_INPUT', issues: [expect.objectContaining({ path: ['platCode'] })] });
      expect(missing.body.msg).toMatch(/platCode/);

      const openid = uniqueOpenId('blog');
      const halfMap = await call(t, 'POST', '/user/wxlogin', { body: { platCode: t.wxLogin(openid), platUserInfoMap: { encryptedData: 'abc' } } });
      expect(halfMap.body).toMatchObject({ code: 400, reason: 'ENCRYPTED_DATA_INCOMPLETE' });
      const notMap = await call(t, 'POST', '/user/wxlogin', { body: { platCode: 'x', platUserInfoMap: 42 } });
      expect(notMap.body).toMatchObject({ code: 400, reason: 'INVALID_INPUT', issues: [expect.objectContaining({ path: ['platUserInfoMap'] })] });
      const badJson = await call(t, 'POST', '/user/wxlogin', { raw: '{' });
      expect(badJson.body).toMatchObject({ code: 400, reason: 'INVALID_INPUT', data: null });
    });
  });

  it('logged no unexpected failure', () => {
    const errors = t.logLines().filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
  });
});

describe('legacy /user/wxlogin with AUTH_REGISTRATION=auto, and rate limits over REST', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto', RATE_LIMIT_IP_PER_MIN: '6' });

  it('registers an unknown user on the first login, as the copied handlers did', async () => {
    const openid = uniqueOpenId('auto');
    const res = await call(t, 'POST', '/user/wxlogin', { body: { platCode: t.wxLogin(openid) } });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ code: 0, msg: 'ok', data: { isNewUser: true, userInfo: { openId: openid } } });
  });

  it('RATE_LIMITED: 429 with Retry-After and retryAfterS, in each route\'s shape', async () => {
    let limited: Answer | undefined;
    for (let i = 0; i < 10 && !limited; i++) {
      const res = await call(t, 'POST', '/api/auth/refresh', { body: { refreshToken: 'unknown' } });
      if (res.status === 429) limited = res;
      else expectError(res, 401, 'REFRESH_TOKEN_INVALID');
    }
    expect(limited, 'the limit was never reached').toBeDefined();
    const error = expectError(limited!, 429, 'RATE_LIMITED');
    expect(error.retryAfterS).toBeGreaterThan(0);
    expect(limited!.headers.get('retry-after')).toBe(String(error.retryAfterS));

    const legacy = await call(t, 'POST', '/user/wxlogin', { body: { platCode: 'x' } });
    expect(legacy.status).toBe(429);
    expect(legacy.body).toMatchObject({ code: 429, reason: 'RATE_LIMITED', retryAfterS: expect.any(Number) });
    const oauth = await call(t, 'POST', '/oauth/token', { body: { code: 'x' } });
    expect(oauth.status).toBe(429);
    expect(oauth.body).toMatchObject({ error: 'RATE_LIMITED', retry_after: expect.any(Number) });
    expect(oauth.headers.get('retry-after')).toBeTruthy();
  });
});

describe('what the routes answer is what the document lists', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto', RATE_LIMIT_IP_PER_MIN: '1', RATE_LIMIT_USER_PER_MIN: '1' });

  it('413, 415, 400, 401 and 429 from every /api route appear in its documented responses', async () => {
    const doc = (await call(t, 'GET', '/openapi.json')).body as OpenAPIV3.Document;
    const login = await call(t, 'POST', '/api/auth/login', { body: { code: t.wxLogin(uniqueOpenId('statuses')) } });
    expect(login.status, login.text).toBe(200);
    const token = login.body.accessToken as string;
    const routes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/'))
      .flatMap(([path, item]) => (['get', 'post'] as const).filter((m) => item?.[m]).map((method) => ({ path, method, op: item![method]! })))
      // Logging out last: the calls after it would all be 401.
      .sort((a, b) => Number(a.path.includes('logout')) - Number(b.path.includes('logout')));

    const undocumented: string[] = [];
    for (const { path, method, op } of routes) {
      const answers: Answer[] = [];
      if (method === 'post') {
        answers.push(await call(t, 'POST', path, { token, raw: JSON.stringify({ pad: 'x'.repeat(70_000) }) }));
        answers.push(await call(t, 'POST', path, { token, raw: 'x', type: 'text/plain' }));
        answers.push(await call(t, 'POST', path, { token, raw: '{' }));
        answers.push(await call(t, 'POST', path, { raw: '{}' }));
      } else {
        answers.push(await call(t, 'GET', `${path}?limit=x`, { token }));
        answers.push(await call(t, 'GET', path));
      }
      // Twice more with a token: the second is over any limit of 1 a minute.
      for (let i = 0; i < 2; i++) answers.push(await call(t, method === 'get' ? 'GET' : 'POST', path, { token, ...(method === 'post' ? { body: {} } : {}) }));
      for (const a of answers) if (!op.responses[String(a.status)]) undocumented.push(`${method.toUpperCase()} ${path} answered ${a.status} ${a.text.slice(0, 80)}`);
    }
    expect(undocumented).toEqual([]);
  });
});
