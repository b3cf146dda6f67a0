import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isErrorReason } from '../shared';
import { appRouter } from '../server/root';
import { adminProcedure } from '../server/trpc/adminProcedure';
import { protectedProcedure } from '../server/trpc/init';
import { encryptWithSessionKey } from '../server/infra/dev/wechatSimulator/appSide';
import { startTestBackend, uniqueOpenId, type TestBackend } from './helpers/testBackend';

/**
 * Property-based fuzzing over real HTTP: every procedure gets thousands of arbitrary inputs, as
 * the superjson wire format and as malformed requests. No answer may be a 5xx, every error must
 * carry a reason and no stack, the server must stay up, and rejected input must write nothing.
 *
 * Seeds are fixed so that the suite is stable; FUZZ_SEED=<n> explores other inputs, FUZZ_RUNS=<x>
 * multiplies the number of runs. fast-check prints the seed and the shrunk input on a failure.
 */

const BASE_SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_240_601;
const RUNS_FACTOR = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 1;
const TEST_TIMEOUT_MS = 120_000;
let seedOffset = 0;
const params = (numRuns: number) => ({ numRuns: Math.max(1, Math.round(numRuns * RUNS_FACTOR)), seed: BASE_SEED + seedOffset++ });

let t: TestBackend;
/** Every HTTP request this file sent, to check the "thousands of inputs" claim. */
let requestsSent = 0;

interface Main {
  openid: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
  kid: string;
}
let main: Main;
/** logout and logoutAll end sessions: they get fresh sessions of a user of their own. */
const victimOpenId = uniqueOpenId('fuzz_victim');

beforeAll(async () => {
  t = await startTestBackend({ AUTH_REGISTRATION: 'auto' });
  const openid = uniqueOpenId('fuzz_main');
  const login = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
  requestsSent++;
  const header = JSON.parse(Buffer.from(login.accessToken.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string };
  main = { openid, userId: login.user.id, accessToken: login.accessToken, refreshToken: login.refreshToken, kid: header.kid };
}, 120_000);

afterAll(async () => {
  if (!t) return;
  // Whatever the fuzzer sent, no response and no log line carried a secret.
  expect(t.leakedSecrets()).toEqual([]);
  await t.stop();
});

// ---------------------------------------------------------------------------------------------
// HTTP and the checks every response must pass
// ---------------------------------------------------------------------------------------------

interface Sent {
  status: number;
  text: string;
  body: unknown;
}

async function send(path: string, init: RequestInit = {}): Promise<Sent> {
  requestsSent++;
  const res = await t.fetch(path, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${init.method ?? 'GET'} ${path.slice(0, 120)}: ${res.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 300))}`);
  }
  return { status: res.status, text, body };
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A stack trace, raw or JSON-escaped, anywhere in the body. */
const STACK = /\n\s+at |\\n\s+at |\bat [\w.<>]+ \(.*:\d+:\d+\)/;

/**
 * KNOWN GAPS, accepted only in exactly these forms: errors Fastify answers itself, before any
 * route (so before setErrorHandler and the not-found handler), as its own JSON without a `reason`:
 * - 431: a request line plus headers over Node's 16 KB (a long `?input=`), from Fastify's default
 *   clientErrorHandler;
 * - 414 FST_ERR_MAX_PARAM_LENGTH: a batch path over `maxParamLength` (5000 characters);
 * - 400 FST_ERR_BAD_URL: a malformed percent-escape in the path.
 * Fixing them takes a `clientErrorHandler` and a `frameworkErrors` option in server/http.ts; once
 * done, delete this function and its callers so the fuzzer holds those answers to the contract.
 */
/** Refused before routing (bad URL escape, a path over maxParamLength, headers over 16 KB): the plain shape. */
function isPreRoutingRefusal(r: Sent): boolean {
  return [400, 414, 431].includes(r.status) && isPlainError(r.body) && (r.body as { error: { reason: string } }).error.reason === 'INVALID_INPUT';
}

function expectTrpcItem(item: unknown, status: number, where: string): void {
  if (!isObj(item)) throw new Error(`${where}: not an object: ${JSON.stringify(item)?.slice(0, 300)}`);
  if ('result' in item) {
    expect(isObj(item.result) && 'data' in item.result, where).toBe(true);
    return;
  }
  const error = item.error;
  const json = isObj(error) ? error.json : undefined;
  const data = isObj(json) ? json.data : undefined;
  if (!isObj(data) || !isErrorReason(data.reason)) {
    throw new Error(`${where}: an error without a known reason: ${JSON.stringify(item).slice(0, 400)}`);
  }
  expect(data.httpStatus, where).toBeLessThan(500);
  if (status !== 207 && typeof data.httpStatus === 'number' && status >= 400) expect(data.httpStatus, where).toBe(status);
}

/** The checks every answer must pass. */
/** The plain error shape of routes outside tRPC: `{ error: { reason, message } }`. */
function isPlainError(body: unknown): boolean {
  const error = isObj(body) ? body.error : undefined;
  return isObj(error) && isErrorReason(error.reason) && typeof error.message === 'string';
}

function checkResponse(r: Sent, opts: { trpc: boolean; where: string }): void {
  const where = `${opts.where} → ${r.status} ${r.text.slice(0, 400)}`;
  expect(r.status, where).toBeLessThan(500);
  expect(r.status, where).toBeGreaterThanOrEqual(200);
  expect(STACK.test(r.text), `stack trace in ${where}`).toBe(false);
  if (isPreRoutingRefusal(r)) return;
  // `/trpc/ping/` or `/trpc/` are no tRPC routes to Fastify: its not-found handler answers, plain shape.
  if (opts.trpc && r.status === 404 && isPlainError(r.body)) return;
  if (!opts.trpc) {
    if (r.status >= 400) {
      expect(isPlainError(r.body), where).toBe(true);
    }
    return;
  }
  if (Array.isArray(r.body)) {
    expect(r.body.length, where).toBeGreaterThan(0);
    for (const item of r.body) expectTrpcItem(item, r.status, where);
  } else {
    expectTrpcItem(r.body, r.status, where);
  }
}

async function expectAlive(): Promise<void> {
  const health = await send('/healthz');
  expect(health.status).toBe(200);
  expect(health.body).toEqual({ status: 'ok', database: 'up' });
  const ping = await send('/trpc/ping');
  expect(ping.status).toBe(200);
  expect(ping.body).toEqual({ result: { data: { json: 'pong' } } });
}

// Property 2: whatever a property sent, the server is still up and answering afterwards.
afterEach(async () => {
  if (t) await expectAlive();
});

// ---------------------------------------------------------------------------------------------
// What nothing-written means
// ---------------------------------------------------------------------------------------------

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function snapshot() {
  const { User, RegistrationTicket, Session } = t.backend.services.db;
  const [users, tickets, sessions, liveSessions, userDocs, sessionDocs] = await Promise.all([
    User.countDocuments(),
    RegistrationTicket.countDocuments(),
    Session.countDocuments(),
    Session.countDocuments({ revokedAt: null }),
    User.find().sort({ _id: 1 }).lean(),
    Session.find().sort({ _id: 1 }).lean(),
  ]);
  return { users, tickets, sessions, liveSessions, usersHash: sha256(JSON.stringify(userDocs)), sessionsHash: sha256(JSON.stringify(sessionDocs)) };
}

/** Runs `body` and proves the database is exactly as before. */
async function writesNothing(body: () => Promise<void>): Promise<void> {
  const before = await snapshot();
  await body();
  expect(await snapshot()).toEqual(before);
}

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

const charOf = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCharCode(c));
const printable = (maxLength: number) => fc.string({ unit: charOf(0x20, 0x7e), maxLength });
const specialChars = fc.oneof(charOf(0xd800, 0xdfff), fc.constantFrom('\u0000', '\uFEFF', '\u202E', '\u200B', '\u3000', ' ', '\t', '\n', '\r', '"', '\\', '%', '$', '.'));

/** Up to ~100 KB: over the body limit, the field limits and the URL limit. */
const huge = fc
  .tuple(fc.string({ minLength: 1, maxLength: 4 }), fc.integer({ min: 1_000, max: 100_000 }))
  .map(([s, n]) => s.repeat(Math.ceil(n / s.length)).slice(0, n));

const bytes16n = fc
  .tuple(fc.integer({ min: 1, max: 800 }), fc.integer({ min: 0, max: 0xffff }))
  .map(([blocks, seed]) => {
    const b = Buffer.alloc(blocks * 16);
    for (let i = 0; i < b.length; i++) b[i] = (Math.imul(seed + i, 2_654_435_761) >>> 24) & 0xff;
    return b;
  });

const base64ish = fc.oneof(
  fc.base64String({ maxLength: 120 }),
  fc.uint8Array({ maxLength: 96 }).map((b) => Buffer.from(b).toString('base64')),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64')),
  fc.uint8Array({ maxLength: 96 }).map((b) => Buffer.from(b).toString('base64url')),
  fc.uint8Array({ maxLength: 96 }).map((b) => Buffer.from(b).toString('base64').replace(/\+/g, ' ')),
  bytes16n.map((b) => b.toString('base64')),
);

const magicStrings = fc.constantFrom(
  '',
  ' ',
  '__proto__',
  'constructor',
  'prototype',
  'null',
  'undefined',
  'NaN',
  '{}',
  '[]',
  '$where',
  '{"$gt":""}',
  'wxr_',
  'rt_',
  'rt_forged',
  'Bearer',
  '微信用户',
  '😀'.repeat(40),
  'x'.repeat(128),
  'x'.repeat(129),
  'a'.repeat(16_384),
  'a'.repeat(16_385),
  'https://example.com/a.png',
  'http://example.com/a.png',
  'javascript:alert(1)',
);

const anyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 64 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 48 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 48 }) },
  { weight: 1, arbitrary: fc.string({ unit: specialChars, maxLength: 16 }) },
  { weight: 2, arbitrary: base64ish },
  { weight: 2, arbitrary: magicStrings },
  { weight: 1, arbitrary: huge },
);

const leaf = fc.oneof(
  { weight: 8, arbitrary: anyString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2) },
);

const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: leaf },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), leaf, { maxKeys: 4 }) },
);

const urlish = fc.oneof(fc.webUrl(), fc.webUrl().map((u) => u.replace(/^http:/, 'https:')), anyString);

/** Objects shaped like the procedures' inputs, every field of any type. */
const fieldsRecord = fc.record(
  {
    code: value,
    encryptedData: value,
    iv: value,
    rawData: value,
    signature: value,
    registrationTicket: value,
    refreshToken: value,
    profile: fc.oneof(value, fc.record({ nickName: value, avatarUrl: urlish }, { requiredKeys: [] })),
    // user.updateProfile's own fields
    nickName: value,
    avatarUrl: urlish,
    extra: value,
  },
  { requiredKeys: [] },
);

const input = fc.oneof(
  { weight: 6, arbitrary: fieldsRecord },
  { weight: 2, arbitrary: value },
  { weight: 1, arbitrary: fc.anything() },
);

const annotation = fc.oneof(
  fc.constantFrom<unknown>(
    ['undefined'],
    ['bigint'],
    ['Date'],
    ['regexp'],
    ['set'],
    ['map'],
    ['number'],
    ['Error'],
    ['URL'],
    ['symbol', 'x'],
    ['class', 'X'],
    ['custom', 'Y'],
    ['typed-array', 'Uint8Array'],
    ['typed-array', 'Nope'],
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const metaPath = fc.oneof(
  fc.constantFrom('code', 'refreshToken', 'profile', 'profile.nickName', '__proto__', '__proto__.polluted', 'constructor.prototype', 'a.b.c', ''),
  fc.string({ maxLength: 12 }),
);
const meta = fc.oneof(
  fc.record({ values: fc.oneof(annotation, fc.dictionary(metaPath, annotation, { maxKeys: 4 })), v: fc.constantFrom<unknown>(1, 2, 'x') }, { requiredKeys: [] }),
  fc.record({ referentialEqualities: fc.oneof(fc.dictionary(metaPath, fc.array(metaPath, { maxLength: 3 }), { maxKeys: 3 }), fc.array(metaPath, { maxLength: 3 })) }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** The superjson envelope: `{"json": input}`, sometimes with an arbitrary `meta`, sometimes with a poisoned key. */
const wire = fc
  .record({
    input,
    meta: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: meta }),
    poison: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype') }),
  })
  .map(({ input, meta, poison }) => {
    let text = JSON.stringify(meta === undefined ? { json: input } : { json: input, meta });
    if (poison) {
      const evil = `"${poison}":{"status":"banned","prototype":{"polluted":1},"code":"x"}`;
      text = text.replace(/^\{"json":\{/, (m) => (text.startsWith('{"json":{}') ? `{"json":{${evil}` : `${m}${evil},`));
    }
    return text;
  });

/** For ?input=: mostly under Node's 16 KB limit on the request head, sometimes over it. */
const queryWire = fc.oneof({ weight: 9, arbitrary: wire.filter((w) => w.length < 12_000) }, { weight: 1, arbitrary: wire });

const headerValue = fc.oneof(
  printable(200),
  fc.string({ unit: fc.oneof(charOf(0x20, 0x7e), charOf(0xa0, 0xff), fc.constant('\t')), maxLength: 80 }),
);

// ---------------------------------------------------------------------------------------------
// Authorization headers
// ---------------------------------------------------------------------------------------------

const hex24 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 });
const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');
const segment = fc.oneof(
  fc.uint8Array({ maxLength: 48 }).map((b) => b64url(Buffer.from(b))),
  fc.jsonValue({ maxDepth: 2 }).map((v) => b64url(JSON.stringify(v) ?? 'null')),
  printable(40).map(b64url),
  fc.string({ unit: charOf(0x2d, 0x7a), maxLength: 40 }),
);
const jwtHeader = fc
  .record(
    {
      alg: fc.oneof(fc.constantFrom('none', 'None', 'HS256', 'HS512', 'RS256', 'ES256', 'PS256'), fc.jsonValue({ maxDepth: 1 })),
      typ: fc.oneof(fc.constantFrom('JWT', 'jwt', 'JWS'), fc.jsonValue({ maxDepth: 1 })),
      kid: fc.oneof(fc.constant('REAL_KID'), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
      crit: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  )
  .map((h) => JSON.stringify(h));
const jwtPayload = fc.oneof(
  fc.record(
    {
      sub: fc.oneof(fc.constant('MAIN_USER'), hex24, fc.jsonValue({ maxDepth: 1 })),
      sid: fc.oneof(fc.string({ maxLength: 70 }), fc.jsonValue({ maxDepth: 1 })),
      exp: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 5 })),
      iss: fc.oneof(fc.constant('wx-login-backend'), fc.string({ maxLength: 10 })),
      aud: fc.oneof(fc.constant('miniprogram'), fc.string({ maxLength: 10 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 })),
    },
    { requiredKeys: [] },
  ).map((p) => JSON.stringify(p)),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'),
  printable(60),
);
/** Three base64url parts, as a JWT looks, but forged. */
const jwtLike = fc
  .record({ header: fc.oneof({ weight: 3, arbitrary: jwtHeader.map(b64url) }, { weight: 1, arbitrary: segment }), payload: fc.oneof(jwtPayload.map(b64url), segment), signature: fc.oneof(segment, fc.constant('')) });

/** A token signed with the server's real key, carrying claims it should not accept (no live session). */
const signedClaims = fc.record(
  {
    sub: fc.oneof(fc.constant('MAIN_USER'), hex24, fc.string({ maxLength: 30 })),
    sid: fc.oneof(fc.string({ maxLength: 70 }), fc.integer(), fc.constant(null)),
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

type AuthSpec =
  | { kind: 'valid' }
  | { kind: 'none' }
  | { kind: 'raw'; value: string }
  | { kind: 'jwt'; prefix: string; parts: { header: string; payload: string; signature: string } }
  | { kind: 'signed'; claims: { sub?: string; sid?: unknown; extra?: unknown }; expired: boolean }
  | { kind: 'tampered'; at: number; by: string };

const randomAuth: fc.Arbitrary<AuthSpec> = fc.oneof(
  fc.constant<AuthSpec>({ kind: 'none' }),
  headerValue.map((value): AuthSpec => ({ kind: 'raw', value })),
  headerValue.map((value): AuthSpec => ({ kind: 'raw', value: `Bearer ${value}` })),
  fc
    .record({ prefix: fc.constantFrom('Bearer ', 'bearer ', 'BEARER\t', 'Bearer  ', '', 'Basic ', 'Bearer x '), parts: jwtLike })
    .map(({ prefix, parts }): AuthSpec => ({ kind: 'jwt', prefix, parts })),
  fc.record({ claims: signedClaims, expired: fc.boolean() }).map(({ claims, expired }): AuthSpec => ({ kind: 'signed', claims, expired })),
  fc.record({ at: fc.nat(), by: fc.string({ unit: charOf(0x2d, 0x7a), minLength: 1, maxLength: 3 }) }).map(({ at, by }): AuthSpec => ({ kind: 'tampered', at, by })),
);

/** Half the cases carry a working access token, half anything else. */
const authFor = (isProtected: boolean) =>
  isProtected ? fc.oneof(fc.constant<AuthSpec>({ kind: 'valid' }), randomAuth) : fc.oneof({ weight: 3, arbitrary: fc.constant<AuthSpec>({ kind: 'none' }) }, { weight: 1, arbitrary: randomAuth });

function resolveKids(text: string): string {
  return text.replace('REAL_KID', main.kid).replace('MAIN_USER', main.userId);
}

/** The Authorization header of a spec; `validToken` is the working token of the procedure. */
function authorizationOf(spec: AuthSpec, validToken: string): string | undefined {
  switch (spec.kind) {
    case 'valid':
      return `Bearer ${validToken}`;
    case 'none':
      return undefined;
    case 'raw':
      return spec.value;
    case 'jwt': {
      const { header, payload, signature } = spec.parts;
      const fix = (seg: string) => {
        const decoded = Buffer.from(seg, 'base64url').toString('utf8');
        return decoded.includes('REAL_KID') || decoded.includes('MAIN_USER') ? b64url(resolveKids(decoded)) : seg;
      };
      return `${spec.prefix}${fix(header)}.${fix(payload)}.${signature}`;
    }
    case 'signed': {
      const payload: Record<string, unknown> = { extra: spec.claims.extra };
      if (spec.claims.sid !== undefined) payload.sid = spec.claims.sid;
      const sub = spec.claims.sub === 'MAIN_USER' ? main.userId : spec.claims.sub;
      const opts = { ...(sub ? { subject: sub } : {}), expiresIn: spec.expired ? -60 : 600 };
      return `Bearer ${t.signToken(payload, opts)}`;
    }
    case 'tampered': {
      const token = validToken;
      const i = spec.at % token.length;
      const forged = token.slice(0, i) + spec.by + token.slice(i + 1);
      return `Bearer ${forged === token ? `${token}x` : forged}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Property 1: every procedure, arbitrary inputs, real HTTP
// ---------------------------------------------------------------------------------------------

/** Who may call a procedure: anyone, a user with a working access token, or operators in process only. */
type Caller = 'public' | 'user' | 'admin';

interface Procedure {
  path: string;
  type: 'query' | 'mutation';
  caller: Caller;
  /** Has an input parser: arbitrary input is refused, not ignored. */
  hasInput: boolean;
  /** Its valid cases end the session they run on: each gets a fresh session of a user of its own. */
  endsSessions: boolean;
  /** A working token and input that passes the schema change the user: not held to "writes nothing". */
  writes: boolean;
}

/** Exceptions by name; everything else about a procedure is read from the router itself. */
const ENDS_SESSIONS = new Set(['auth.logout', 'auth.logoutAll']);
const WRITES = new Set(['user.updateProfile']);

type ProcedureDef = { type: string; inputs: unknown[]; middlewares: unknown[] };
/** The middleware a builder adds, which every procedure made from it carries (tRPC keeps the function itself). */
const middlewareOf = (builder: { _def: { middlewares: unknown[] } }) => builder._def.middlewares.at(-1);
const USER_MIDDLEWARE = middlewareOf(protectedProcedure);
const ADMIN_MIDDLEWARE = middlewareOf(adminProcedure);

/**
 * Every procedure of the router, so that a new one is fuzzed without anyone adding it here. The
 * caller is told by the middleware its builder added (protectedProcedure, adminProcedure).
 */
const PROCEDURES: Procedure[] = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: ProcedureDef }>).map(([path, { _def }]) => {
  if (_def.type !== 'query' && _def.type !== 'mutation') throw new Error(`${path}: a ${_def.type}; teach the fuzzer to send one`);
  const caller: Caller = _def.middlewares.includes(USER_MIDDLEWARE) ? 'user' : _def.middlewares.includes(ADMIN_MIDDLEWARE) ? 'admin' : 'public';
  return { path, type: _def.type, caller, hasInput: _def.inputs.length > 0, endsSessions: ENDS_SESSIONS.has(path), writes: WRITES.has(path) };
});
const procedure = (path: string): Procedure => {
  const found = PROCEDURES.find((p) => p.path === path);
  if (!found) throw new Error(`no procedure ${path} in the router`);
  return found;
};

describe('the procedure list', () => {
  it('comes from the router: every procedure, each exception a real one', () => {
    expect(PROCEDURES.map((p) => p.path)).toEqual(expect.arrayContaining(['ping', 'auth.login', 'user.bindPhone', 'user.updateProfile', 'user.checkSession', 'admin.banUser']));
    for (const path of [...ENDS_SESSIONS, ...WRITES]) expect(procedure(path).caller).toBe('user');
    expect(procedure('auth.me').caller).toBe('user');
    expect(procedure('auth.login').caller).toBe('public');
    expect(procedure('admin.banUser').caller).toBe('admin');
  });
});

/** A working access token for this procedure's valid cases. */
async function validTokenFor(proc: Procedure, spec: AuthSpec): Promise<string> {
  if (!proc.endsSessions || (spec.kind !== 'valid' && spec.kind !== 'tampered')) return main.accessToken;
  // Each valid case leaves an ended session of the victim behind, and a logoutAll visits every
  // session of its user: clear the ended ones out now and then so that stays short.
  if (++victimLogins % 25 === 0 && victimUserId) {
    await t.backend.services.db.Session.deleteMany({ userId: victimUserId, revokedAt: { $ne: null } });
  }
  requestsSent++;
  const login = await t.client().auth.login.mutate({ code: t.wxLogin(victimOpenId) });
  victimUserId = login.user.id;
  return login.accessToken;
}
let victimLogins = 0;
let victimUserId: string | undefined;

const headersWith = (authorization: string | undefined, extra: Record<string, string> = {}) =>
  authorization === undefined ? extra : { ...extra, authorization };

/** Sends an input the way the tRPC client would: POST body for mutations, ?input= for queries. */
async function sendWire(proc: Procedure, body: string, authorization: string | undefined): Promise<Sent> {
  if (proc.type === 'query') {
    return send(`/trpc/${proc.path}?input=${encodeURIComponent(body)}`, { headers: headersWith(authorization) });
  }
  return send(`/trpc/${proc.path}`, { method: 'POST', headers: headersWith(authorization, { 'content-type': 'application/json' }), body });
}

const malformedBody = fc.oneof(
  { weight: 3, arbitrary: anyString },
  { weight: 3, arbitrary: fc.tuple(wire, fc.nat()).map(([text, n]) => text.slice(0, n % Math.max(1, text.length))) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 5_000 }).map((n) => '{"json":'.repeat(n) + '{}' + '}'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '{"json":', '{"json":{"code":"', '{"json":{}}}', '{"json":1,"json":{"code":"x"}}', 'null', '"\\ud800"', '\uFEFF{"json":{}}') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: huge },
);

const contentType = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/json, text/plain',
      'text/plain',
      'text/plain; charset=utf-8',
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      'application/jsonx',
      'json',
      '*/*',
    ),
  },
  { weight: 1, arbitrary: printable(40) },
);

/** Percent-encodes bytes (encodeURIComponent throws on a lone surrogate). */
const percentBytes = (b: Buffer) =>
  Array.from(b, (byte) => (/[\w.~-]/.test(String.fromCharCode(byte)) && byte < 0x80 ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`)).join('');

const queryString = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?batch=1', '?batch=0', '?batch=true', '?input=', '?input=null', '?input=%7B', '?input=%7B%7D&input=1', '?connectionParams=1', '?connectionParams=%7B%22a%22%3A1%7D'),
  wire.map((w) => `?input=${encodeURIComponent(w)}`),
  wire.map((w) => `?batch=1&input=${encodeURIComponent(`{"0":${w}}`)}`),
  printable(60).map((junk) => `?input=${junk.replace(/[#%]/g, '')}`),
  fc.tuple(fc.constantFrom('input', 'batch', 'connectionParams'), anyString).map(([k, v]) => `?${k}=${percentBytes(Buffer.from(v.slice(0, 2_000)))}`),
  // Percent-escaped bytes that need not be UTF-8 at all.
  fc.tuple(fc.constantFrom('input', 'batch', 'connectionParams'), fc.uint8Array({ maxLength: 64 })).map(([k, b]) => `?${k}=${percentBytes(Buffer.from(b))}`),
);

const pathVariant = fc.oneof(
  { weight: 6, arbitrary: fc.constant('exact') },
  { weight: 2, arbitrary: fc.constantFrom('batch-dup', 'mixed-batch') },
  { weight: 2, arbitrary: fc.constantFrom('trailing-slash', 'upper', 'unknown-sibling', 'nested') },
  // No maxBatchSize: 200 calls in one request; 600 is over Fastify's maxParamLength (a 404).
  { weight: 1, arbitrary: fc.constantFrom('big-batch', 'huge-batch', 'bad-escape') },
);

function variantPath(proc: Procedure, variant: string): string {
  switch (variant) {
    case 'batch-dup':
      return `${proc.path},${proc.path}`;
    case 'trailing-slash':
      return `${proc.path}/`;
    case 'upper':
      return proc.path.toUpperCase();
    case 'unknown-sibling':
      return `${proc.path}.nope`;
    case 'mixed-batch':
      return `${proc.path},ping,auth.login`;
    case 'big-batch':
      return Array<string>(200).fill(proc.path).join(',');
    case 'huge-batch':
      return Array<string>(600).fill(proc.path).join(',');
    case 'bad-escape':
      return `${proc.path}%E0%A4%A`;
    case 'nested':
      return `${proc.path.split('.')[0]}`;
    default:
      return proc.path;
  }
}

const malformedRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
  contentType,
  body: malformedBody,
  query: queryString,
  variant: pathVariant,
});

/** What every property over one procedure checks, with the request already sent. */
function expectWireAnswer(proc: Procedure, r: Sent, body: string, spec: AuthSpec, where: string): void {
  checkResponse(r, { trpc: true, where });
  if (isPreRoutingRefusal(r) || r.status === 413) return;
  const poisoned = body.includes('__proto__') || body.includes('constructor');
  const valid = spec.kind === 'valid';
  if (proc.path === 'ping' && !poisoned) expect(r.status, where).toBe(200);
  // No input parser: whatever the input, a working token is enough.
  if (proc.caller === 'user' && !proc.hasInput && valid && !poisoned) expect(r.status, where).toBe(200);
  // Anything but a working token is refused on a protected procedure.
  if (proc.caller === 'user' && !valid) expect(r.status, where).toBeGreaterThanOrEqual(400);
  // Random codes, tickets and refresh tokens are never accepted; operators' procedures never over HTTP.
  if ((proc.caller === 'public' && proc.hasInput) || proc.caller === 'admin') expect(r.status, where).toBeGreaterThanOrEqual(400);
}

/** The database must not change during properties whose procedures must not write. */
const guard = (proc: Procedure) => (body: () => Promise<void>) => (proc.endsSessions || proc.writes ? body() : writesNothing(body));

describe('property 1: every procedure answers arbitrary input with a typed 4xx (or success), never a 5xx', () => {
  for (const proc of PROCEDURES) {
    it(
      `${proc.path}: superjson wire format with arbitrary inputs`,
      async () => {
        await guard(proc)(async () => {
          await fc.assert(
            fc.asyncProperty(proc.type === 'query' ? queryWire : wire, authFor(proc.caller !== 'public'), async (body, spec) => {
              const token = await validTokenFor(proc, spec);
              const authorization = authorizationOf(spec, token);
              const r = await sendWire(proc, body, authorization);
              expectWireAnswer(proc, r, body, spec, `${proc.path} ${body.slice(0, 200)} auth=${authorization?.slice(0, 120)}`);
            }),
            // Operators' procedures are refused by their first middleware: fewer runs say as much.
            params(proc.caller === 'admin' ? 100 : proc.endsSessions ? 250 : 450),
          );
        });
      },
      TEST_TIMEOUT_MS,
    );

    it(
      `${proc.path}: malformed requests (bodies, content types, methods, query strings, paths)`,
      async () => {
        await guard(proc)(async () => {
          await fc.assert(
            fc.asyncProperty(malformedRequest, authFor(proc.caller !== 'public'), async (req, spec) => {
              const token = await validTokenFor(proc, spec);
              const authorization = authorizationOf(spec, token);
              const headers: Record<string, string> = headersWith(authorization);
              if (req.contentType !== undefined) headers['content-type'] = req.contentType;
              const path = `/trpc/${variantPath(proc, req.variant)}${req.query}`;
              const init: RequestInit = { method: req.method, headers };
              if (req.method !== 'GET' && req.body !== undefined) init.body = req.body;
              const r = await send(path, init);
              const shown = typeof req.body === 'string' ? req.body.slice(0, 200) : req.body === undefined ? '<none>' : `<${req.body.length} bytes>`;
              checkResponse(r, { trpc: true, where: `${req.method} ${path.slice(0, 200)} ct=${req.contentType} body=${shown} auth=${authorization?.slice(0, 120)}` });
            }),
            params(proc.caller === 'admin' ? 100 : 300),
          );
        });
      },
      TEST_TIMEOUT_MS,
    );
  }

  it(
    'non-tRPC routes: arbitrary paths, methods and bodies get a JSON error with a reason',
    async () => {
      const route = fc.oneof(
        fc.constantFrom('/', '/healthz/', '/trpc', '/trpc/', '/.well-known/jwks.json', '/favicon.ico', '/api', '/TRPC/ping', '/healthz/x'),
        fc.string({ unit: fc.constantFrom('a', 'b', '/', '.', '-', '_', '~', '0'), maxLength: 30 }).map((p) => `/x${p}`),
      );
      await writesNothing(async () => {
        await fc.assert(
          fc.asyncProperty(route, fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), contentType, malformedBody, async (path, method, ct, body) => {
            const init: RequestInit = { method, headers: ct === undefined ? {} : { 'content-type': ct } };
            if (method !== 'GET' && body !== undefined) init.body = body;
            const r = await send(path, init);
            const trpc = path.startsWith('/trpc/');
            checkResponse(r, { trpc, where: `${method} ${path} ct=${ct}` });
            if (!trpc && r.status < 300 && !path.startsWith('/.well-known/')) throw new Error(`${method} ${path}: ${r.status} from a route that should not exist`);
          }),
          params(300),
        );
      });
    },
    TEST_TIMEOUT_MS,
  );
});

// ---------------------------------------------------------------------------------------------
// Property 3: rejected input writes nothing
// ---------------------------------------------------------------------------------------------

/** Fields the schema accepts, so that the request reaches the verification of user data. */
const inSchema = (max: number) =>
  fc.oneof(
    fc.string({ minLength: 1, maxLength: Math.min(max, 64) }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }),
    base64ish.filter((s) => s.length >= 1 && s.length <= max),
  );
/** One of: real ciphertext under the real session_key with content that must be refused, or random data. */
type DataSpec =
  | { kind: 'random'; fields: { encryptedData?: string; iv?: string; rawData?: string; signature?: string } }
  | { kind: 'noWatermark'; data: Record<string, unknown> }
  | { kind: 'foreignApp'; data: Record<string, unknown> }
  | { kind: 'otherUser'; data: Record<string, unknown> }
  | { kind: 'plaintext'; text: string };

const randomUserData = fc
  .record(
    { encryptedData: inSchema(16_384), iv: inSchema(64), rawData: inSchema(8_192), signature: inSchema(128) },
    { requiredKeys: [] },
  )
  .filter((f) => Object.keys(f).length > 0);
const profileData = fc
  .dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 })
  .map((d) => {
    const { watermark: _w, openId: _o, ...rest } = d as Record<string, unknown>;
    return rest;
  });
const dataSpec: fc.Arbitrary<DataSpec> = fc.oneof(
  { weight: 4, arbitrary: randomUserData.map((fields): DataSpec => ({ kind: 'random', fields })) },
  { weight: 1, arbitrary: profileData.map((data): DataSpec => ({ kind: 'noWatermark', data })) },
  { weight: 1, arbitrary: profileData.map((data): DataSpec => ({ kind: 'foreignApp', data })) },
  { weight: 1, arbitrary: profileData.map((data): DataSpec => ({ kind: 'otherUser', data })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ''))
      .filter((s) => !s.includes('watermark'))
      .map((text): DataSpec => ({ kind: 'plaintext', text })),
  },
);

/** The user-data fields of a spec, for the openid whose fresh code goes with them. */
type UserData = { encryptedData?: string; iv?: string; rawData?: string; signature?: string };
function userDataOf(spec: DataSpec, openid: string | undefined): UserData {
  const key = openid ? t.sim.app.sessionKeyOf(openid) : undefined;
  if (spec.kind === 'random' || !key || !openid) return spec.kind === 'random' ? spec.fields : { encryptedData: 'AAAA', iv: 'AAAA' };
  switch (spec.kind) {
    case 'noWatermark':
      return t.sim.app.encrypt(openid, spec.data, { watermark: false });
    case 'foreignApp':
      return t.sim.app.encrypt(openid, spec.data, { appId: 'wx_someone_else' });
    case 'otherUser':
      return t.sim.app.encrypt(openid, { ...spec.data, openId: `${openid}_not` });
    case 'plaintext':
      return encryptWithSessionKey(key, spec.text);
  }
}

const USER_DATA_KEYS = ['encryptedData', 'iv', 'rawData', 'signature'];

type CodeKind = 'fresh-new' | 'fresh-main' | 'random';
const codeKind = fc.constantFrom<CodeKind>('fresh-new', 'fresh-main', 'random');

/** A code (and the openid it logs in) of a kind. */
function codeOf(kind: CodeKind, random: string): { code: string; openid: string | undefined } {
  if (kind === 'random') return { code: random, openid: undefined };
  const openid = kind === 'fresh-main' ? main.openid : uniqueOpenId('fuzz_new');
  return { code: t.wxLogin(openid), openid };
}

function expectRejected(r: Sent, where: string): void {
  checkResponse(r, { trpc: true, where });
  expect(r.status, where).toBeGreaterThanOrEqual(400);
}

describe('property 3: rejected input writes nothing', () => {
  it(
    'auth.login with invalid codes, invalid user data or invalid shapes',
    async () => {
      const shape = fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: codeKind, random: inSchema(128), data: dataSpec }).map((c) => ({ ...c, wrong: undefined as unknown })) },
        { weight: 1, arbitrary: fc.record({ kind: codeKind, random: inSchema(128), data: dataSpec, wrong: fieldsRecord.filter((f) => Object.keys(f).length > 0) }) },
      );
      await writesNothing(async () => {
        await fc.assert(
          fc.asyncProperty(shape, async ({ kind, random, data, wrong }) => {
            const { code, openid } = codeOf(kind, random);
            // `wrong` overrides fields with anything: a wrong type, a bad length... still refused.
            const input = { code, ...userDataOf(data, openid), ...(wrong as object | undefined) };
            const body = JSON.stringify({ json: input });
            // A working code with no user data left (`wrong` can drop fields) would log in: not this property.
            const sent = (JSON.parse(body) as { json: Record<string, unknown> }).json;
            if (openid !== undefined && sent.code === code && !USER_DATA_KEYS.some((k) => k in sent)) return;
            const r = await sendWire(procedure('auth.login'), body, undefined);
            expectRejected(r, `auth.login ${kind} ${body.slice(0, 300)}`);
          }),
          params(400),
        );
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'auth.register with invalid codes, unknown tickets, invalid user data, profiles or shapes',
    async () => {
      type RegisterCase =
        | { via: 'code'; kind: CodeKind; random: string; data: DataSpec | undefined; profile: unknown }
        | { via: 'ticket'; ticket: string; data: DataSpec | undefined; profile: unknown }
        | { via: 'both' | 'neither'; random: string; profile: unknown };
      const profile = fc.oneof(
        fc.constant(undefined),
        fc.record({ nickName: fc.string({ minLength: 1, maxLength: 64 }), avatarUrl: fc.constant('https://example.com/a.png') }, { requiredKeys: ['nickName'] }),
        fc.record({ nickName: value, avatarUrl: urlish }, { requiredKeys: [] }),
      );
      const registerCase: fc.Arbitrary<RegisterCase> = fc.oneof(
        fc.record({ via: fc.constant('code' as const), kind: codeKind, random: inSchema(128), data: fc.option(dataSpec, { nil: undefined }), profile }),
        fc.record({ via: fc.constant('ticket' as const), ticket: fc.oneof(inSchema(512), fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `rt_${b64url(Buffer.from(b))}`)), data: fc.option(dataSpec, { nil: undefined }), profile }),
        fc.record({ via: fc.constantFrom('both' as const, 'neither' as const), random: inSchema(128), profile }),
      );
      await writesNothing(async () => {
        await fc.assert(
          fc.asyncProperty(registerCase, async (c) => {
            let input: Record<string, unknown>;
            if (c.via === 'code') {
              const { code, openid } = codeOf(c.kind, c.random);
              // A new user with a fresh code and nothing wrong would be registered: always send bad data then.
              const data = c.data ?? (c.kind === 'fresh-new' ? ({ kind: 'random', fields: { rawData: '{}', signature: '0'.repeat(40) } } as DataSpec) : undefined);
              input = { code, ...(data ? userDataOf(data, openid) : {}), profile: c.profile };
            } else if (c.via === 'ticket') {
              input = { registrationTicket: c.ticket, ...(c.data ? userDataOf(c.data, undefined) : {}), profile: c.profile };
            } else if (c.via === 'both') {
              input = { code: t.wxLogin(uniqueOpenId('fuzz_both')), registrationTicket: c.random, profile: c.profile };
            } else {
              input = { profile: c.profile };
            }
            const body = JSON.stringify({ json: input });
            const r = await sendWire(procedure('auth.register'), body, undefined);
            expectRejected(r, `auth.register ${c.via} ${body.slice(0, 300)}`);
          }),
          params(400),
        );
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'auth.refresh with random, forged or near-miss tokens revokes nothing',
    async () => {
      const token = fc.oneof(
        anyString,
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `wxr_${b64url(Buffer.from(b))}`),
        fc.record({ at: fc.nat(), by: fc.string({ unit: charOf(0x2d, 0x7a), minLength: 1, maxLength: 3 }) }).map(({ at, by }) => ({ at, by })),
        fc.constantFrom('prefix', 'suffix', 'upper', 'lower', 'trim', 'space', 'newline', 'access-token'),
      );
      const tokenOf = (spec: unknown): string => {
        const real = main.refreshToken;
        if (typeof spec === 'string') {
          switch (spec) {
            case 'prefix':
              return ` ${real}`;
            case 'suffix':
              return `${real}=`;
            case 'upper':
              return real.toUpperCase();
            case 'lower':
              return real.toLowerCase();
            case 'trim':
              return real.slice(0, -1);
            case 'space':
              return `${real} `;
            case 'newline':
              return `${real}\n`;
            case 'access-token':
              return main.accessToken;
            default:
              return spec;
          }
        }
        const { at, by } = spec as { at: number; by: string };
        const i = at % real.length;
        return real.slice(0, i) + by + real.slice(i + 1);
      };
      await writesNothing(async () => {
        await fc.assert(
          fc.asyncProperty(token, fc.oneof(fc.constant(undefined), meta), async (spec, m) => {
            const refreshToken = tokenOf(spec);
            if (refreshToken === main.refreshToken) return; // the one token that must work
            const body = JSON.stringify(m === undefined ? { json: { refreshToken } } : { json: { refreshToken }, meta: m });
            const r = await sendWire(procedure('auth.refresh'), body, undefined);
            expectRejected(r, `auth.refresh ${body.slice(0, 300)}`);
          }),
          params(400),
        );
      });
      // Nothing was revoked: the real pair still works (and the refresh token rotates, once).
      const me = await send('/trpc/auth.me', { headers: { authorization: `Bearer ${main.accessToken}` } });
      expect(me.status).toBe(200);
      requestsSent++;
      const next = await t.client().auth.refresh.mutate({ refreshToken: main.refreshToken });
      main = { ...main, accessToken: next.accessToken, refreshToken: next.refreshToken };
    },
    TEST_TIMEOUT_MS,
  );
});

describe('the claim', () => {
  it('thousands of requests were sent', () => {
    expect(requestsSent).toBeGreaterThanOrEqual(3000);
  });
});
