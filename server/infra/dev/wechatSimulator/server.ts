// The WeChat API simulator as a real HTTP server (plain node:http), so the backend's own HTTP
// client, timeouts and error mapping are exercised exactly as against api.weixin.qq.com.
// Like WeChat, every API error is an HTTP 200 with {errcode, errmsg}.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAppSide, type AppSide } from './appSide';
import { SimulatorState, type Endpoint, type FaultKind, type SimulatorApp } from './state';

export interface SimulatorOptions {
  apps: SimulatorApp[];
  host?: string;
  port?: number;
  codeTtlMs?: number;
  accessTokenTtlS?: number;
  now?: () => number;
}

export interface WeChatSimulator {
  url: string;
  start(): Promise<string>;
  stop(): Promise<void>;
  app: AppSide;
  appFor(appId: string): AppSide;
  injectFault(endpoint: Endpoint, fault: FaultKind, times?: number): void;
  setFaultRate(endpoint: Endpoint, rate: number, faults: FaultKind[]): void;
  clearFaults(): void;
  invalidateAccessTokens(): void;
  stats(): Record<Endpoint, number>;
  /** Every stable_token request so far: for which app, and whether it forced a refresh. */
  stableTokenRequests(): { appId: string; forceRefresh: boolean }[];
  resetStats(): void;
  users(): number;
  /** A valid access token for the app, issued outside the API (for the open API service stand-in). */
  grantServiceToken(appId: string): string;
}

const MAX_BODY_BYTES = 64 * 1024;

type WxReply = Record<string, unknown>;
interface WxRequest { query: URLSearchParams; body: Buffer }
interface Route { endpoint: Endpoint; method: 'GET' | 'POST'; handle: (state: SimulatorState, req: WxRequest) => WxReply }

const wxError = (errcode: number, errmsg: string): WxReply => ({ errcode, errmsg });

/** appid + secret as every credential-bearing endpoint checks them. */
function authenticate(state: SimulatorState, appId: unknown, secret: unknown): { appId: string } | { error: WxReply } {
  if (typeof appId !== 'string' || appId === '') return { error: wxError(41002, 'appid missing') };
  const app = state.app(appId);
  if (!app) return { error: wxError(40013, 'invalid appid') };
  if (typeof secret !== 'string' || secret === '') return { error: wxError(41004, 'appsecret missing') };
  if (secret !== app.appSecret) return { error: wxError(40125, 'invalid appsecret') };
  return { appId };
}

/** The appid an access token was issued to, or the error WeChat gives for it. */
function tokenOwner(state: SimulatorState, accessToken: string | null): { appId: string } | { error: WxReply } {
  if (!accessToken) return { error: wxError(41001, 'access_token missing') };
  const check = state.checkToken(accessToken);
  if (check.ok) return { appId: check.appId };
  return check.reason === 'expired'
    ? { error: wxError(42001, 'access_token expired') }
    : { error: wxError(40001, 'invalid credential, access_token is invalid or not latest') };
}

function jsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const watermarkNow = (state: SimulatorState, appId: string) => ({ timestamp: Math.floor(state.nowMs() / 1000), appid: appId });

const ROUTES = new Map<string, Route>([
  ['/sns/jscode2session', {
    endpoint: 'jscode2session',
    method: 'GET',
    handle(state, { query }) {
      const caller = authenticate(state, query.get('appid'), query.get('secret'));
      if ('error' in caller) return caller.error;
      const code = query.get('js_code');
      if (!code) return wxError(41008, 'missing code');
      if (query.get('grant_type') !== 'authorization_code') return wxError(40002, 'invalid grant_type');
      const result = state.redeemLoginCode(caller.appId, code);
      if (result.ok) {
        return { session_key: result.sessionKey, openid: result.openid, ...(result.unionId !== undefined && { unionid: result.unionId }) };
      }
      if (result.reason === 'failing') return wxError(result.errcode, result.errmsg);
      return result.reason === 'used' ? wxError(40163, 'code been used') : wxError(40029, 'invalid code');
    },
  }],
  ['/cgi-bin/token', {
    endpoint: 'token',
    method: 'GET',
    handle(state, { query }) {
      if (query.get('grant_type') !== 'client_credential') return wxError(40002, 'invalid grant_type');
      const caller = authenticate(state, query.get('appid'), query.get('secret'));
      if ('error' in caller) return caller.error;
      const issued = state.issuePlainToken(caller.appId);
      return { access_token: issued.accessToken, expires_in: issued.expiresInS };
    },
  }],
  ['/cgi-bin/stable_token', {
    endpoint: 'stable_token',
    method: 'POST',
    handle(state, { body }) {
      const input = jsonObject(body);
      if (!input) return wxError(47001, 'data format error');
      if (input.grant_type !== 'client_credential') return wxError(40002, 'invalid grant_type');
      const caller = authenticate(state, input.appid, input.secret);
      if ('error' in caller) return caller.error;
      const issued = state.stableToken(caller.appId, input.force_refresh === true);
      return { access_token: issued.accessToken, expires_in: issued.expiresInS };
    },
  }],
  ['/wxa/business/getuserphonenumber', {
    endpoint: 'getuserphonenumber',
    method: 'POST',
    handle(state, { query, body }) {
      const owner = tokenOwner(state, query.get('access_token'));
      if ('error' in owner) return owner.error;
      const input = jsonObject(body);
      if (!input) return wxError(47001, 'data format error');
      if (typeof input.code !== 'string' || input.code === '') return wxError(41008, 'missing code');
      const result = state.redeemPhoneCode(owner.appId, input.code);
      if (!result.ok) return wxError(40029, 'invalid code');
      return { errcode: 0, errmsg: 'ok', phone_info: { ...result.phone, watermark: watermarkNow(state, owner.appId) } };
    },
  }],
  ['/wxa/checksession', {
    endpoint: 'checksession',
    method: 'GET',
    handle(state, { query }) {
      const owner = tokenOwner(state, query.get('access_token'));
      if ('error' in owner) return owner.error;
      const sessionKey = state.sessionKeyOf(owner.appId, query.get('openid') ?? '');
      // The key is used as its base64 text, not decoded: that is how WeChat defines the signature.
      const expected = sessionKey === undefined ? undefined : createHmac('sha256', sessionKey).update('').digest('hex');
      const valid = query.get('sig_method') === 'hmac_sha256' && expected !== undefined && query.get('signature') === expected;
      return valid ? { errcode: 0, errmsg: 'ok' } : wxError(87009, 'invalid signature');
    },
  }],
]);

function send(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const sendJson = (res: ServerResponse, status: number, reply: WxReply): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(reply));

/** The body up to the limit; past it the rest is drained (not kept) so the 413 reaches the client. */
function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function applyFault(fault: FaultKind, req: IncomingMessage, res: ServerResponse): void {
  switch (fault.kind) {
    case 'errcode':
      req.resume();
      return sendJson(res, 200, wxError(fault.errcode, fault.errmsg ?? 'simulated error'));
    case 'http500':
      req.resume();
      return send(res, 500, 'text/plain; charset=utf-8', 'internal error');
    case 'garbage':
      req.resume();
      return send(res, 200, 'text/html; charset=utf-8', '<html>oops');
    case 'timeout':
      // Read the request but never answer; stop() or the client's own timeout ends it.
      req.resume();
      return;
    case 'reset':
      req.socket.destroy();
      return;
  }
}

/**
 * The mini program's side over HTTP, for a demo or a test in another process (the demo command
 * against `npm start`): POST /__app/login {openid, unionId?} → {code};
 * POST /__app/userInfo {openid, profile?} → {encryptedData, iv, rawData, signature, userInfo}.
 * Not WeChat API: these stand in for wx.login and wx.getUserInfo on a phone.
 */
async function handleAppSide(appFor: (appId: string) => AppSide, defaultAppId: string, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const input = body === 'too-large' ? undefined : jsonObject(body);
  if (req.method !== 'POST' || !input || typeof input.openid !== 'string' || input.openid === '') {
    return sendJson(res, 400, wxError(40097, 'POST a JSON body with an openid'));
  }
  const app = appFor(typeof input.appid === 'string' ? input.appid : defaultAppId);
  if (pathname === '/__app/login') {
    const unionId = typeof input.unionId === 'string' ? input.unionId : undefined;
    return sendJson(res, 200, { code: app.login(input.openid, unionId ? { unionId } : undefined) });
  }
  if (pathname === '/__app/userInfo') {
    const profile = typeof input.profile === 'object' && input.profile !== null ? (input.profile as Record<string, unknown>) : {};
    return sendJson(res, 200, { ...app.userInfo(input.openid, profile) });
  }
  sendJson(res, 404, wxError(404, 'not found'));
}

async function handle(state: SimulatorState, appSide: (pathname: string, req: IncomingMessage, res: ServerResponse) => Promise<void>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  if (url.pathname.startsWith('/__app/')) return appSide(url.pathname, req, res);
  const route = ROUTES.get(url.pathname);
  if (!route) {
    req.resume();
    return sendJson(res, 404, wxError(404, 'not found'));
  }
  state.count(route.endpoint);
  const fault = state.takeFault(route.endpoint);
  if (fault) return applyFault(fault, req, res);
  const body = await readBody(req);
  if (body === 'too-large') return sendJson(res, 413, wxError(413, 'request entity too large'));
  if (req.method !== route.method) {
    return route.method === 'GET' ? sendJson(res, 200, wxError(43001, 'require GET method')) : sendJson(res, 200, wxError(43002, 'require POST method'));
  }
  sendJson(res, 200, route.handle(state, { query: url.searchParams, body }));
}

export function createWeChatSimulator(opts: SimulatorOptions): WeChatSimulator {
  const defaultApp = opts.apps[0];
  if (!defaultApp) throw new Error('the WeChat simulator needs at least one app');
  const state = new SimulatorState({
    apps: opts.apps,
    codeTtlMs: opts.codeTtlMs ?? 5 * 60_000,
    accessTokenTtlS: opts.accessTokenTtlS ?? 7200,
    now: opts.now ?? Date.now,
  });
  const appSides = new Map(opts.apps.map((app) => [app.appId, createAppSide(state, app.appId)]));
  const host = opts.host ?? '127.0.0.1';
  let url = '';
  const appFor = (appId: string): AppSide => {
    const side = appSides.get(appId);
    if (!side) throw new Error(`appid ${appId} is not configured in this simulator`);
    return side;
  };

  const appSide = (pathname: string, req: IncomingMessage, res: ServerResponse) =>
    handleAppSide(appFor, defaultApp.appId, pathname, req, res);
  const server = createServer((req, res) => {
    handle(state, appSide, req, res).catch((error: unknown) => {
      // A client that hung up mid-body leaves nobody to answer; anything else is a simulator bug,
      // reported in the response because the simulator never logs.
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, 500, wxError(-1, `simulator error: ${error instanceof Error ? error.message : String(error)}`));
      }
    });
  });

  return {
    get url() {
      return url;
    },
    start() {
      if (server.listening) return Promise.resolve(url);
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port ?? 0, host, () => {
          server.off('error', reject);
          const { port } = server.address() as AddressInfo;
          url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
          resolve(url);
        });
      });
    },
    stop() {
      if (!server.listening) return Promise.resolve();
      return new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // close() alone waits for open connections, and a 'timeout' fault keeps one open forever.
        server.closeAllConnections();
      });
    },
    app: appFor(defaultApp.appId),
    appFor,
    injectFault: (endpoint, fault, times = 1) => state.injectFault(endpoint, fault, times),
    setFaultRate: (endpoint, rate, faults) => state.setFaultRate(endpoint, rate, faults),
    clearFaults: () => state.clearFaults(),
    invalidateAccessTokens: () => state.revokeAllTokens(),
    stats: () => state.stats(),
    stableTokenRequests: () => [...state.stableTokenRequests],
    resetStats: () => state.resetStats(),
    users: () => state.loggedInUsers(),
    grantServiceToken: (appId) => {
      if (!state.app(appId)) throw new Error(`appid ${appId} is not configured in this simulator`);
      return state.grantServiceToken(appId);
    },
  };
}
