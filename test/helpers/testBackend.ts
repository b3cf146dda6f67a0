import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import jwt from 'jsonwebtoken';
import { createTRPCClient, httpBatchLink, httpLink, type TRPCLink } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { startBackend, type RunningBackend } from '../../server/backend';
import { loadConfig } from '../../server/config';
import { createLogger } from '../../server/logger';
import type { AppRouter } from '../../server/root';
import type { WeChatSimulator } from '../../server/infra/dev/wechatSimulator';

/**
 * The real product for end-to-end tests: HTTP server on loopback, the run's database (a database
 * of its own per backend), the WeChat simulator over real HTTP. Records every response body and
 * log line, and every session_key the simulator hands out, so a test can prove none leaked.
 */
export interface TestBackend {
  backend: RunningBackend;
  url: string;
  dbName: string;
  sim: WeChatSimulator;
  /** A typed tRPC client over real HTTP; `token` is sent as Bearer. */
  client(opts?: { token?: string; batch?: boolean; appId?: string }): ReturnType<typeof createTRPCClient<AppRouter>>;
  /** wx.login for this openid (in `appId`, default the first app): a fresh code (and a fresh session_key, recorded). */
  wxLogin(openid: string, opts?: { unionId?: string; appId?: string }): string;
  /** Raw fetch against the server, recorded like the client's. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Signs a token with the server's current key (for tests of expired or odd tokens). */
  signToken(payload: object, opts?: jwt.SignOptions): string;
  /** Which of these values (tokens, codes ... that responses may carry) appear in a log line. */
  loggedValues(values: string[]): string[];
  /** Secrets seen in any response body or log line so far (should stay empty). */
  leakedSecrets(): string[];
  logLines(): string[];
  stop(): Promise<void>;
}

export const uniqueOpenId = (label = 'user') => `o_${label}_${randomBytes(6).toString('hex')}`;

export interface TestBackendOptions {
  /** How many mini programs the simulator serves (default 1), or which (to start another backend on the same apps). */
  simulatorApps?: number | { appId: string; appSecret: string }[];
  /** Share a database with another test backend (as two instances of one deployment do). */
  dbName?: string;
  /** A clock the test moves (sessions, tickets, rate limits; JWT expiry stays on real time). */
  now?: () => Date;
}

export async function startTestBackend(env: Record<string, string> = {}, opts: TestBackendOptions = {}): Promise<TestBackend> {
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    WECHAT_RETRIES: '1',
    WECHAT_TIMEOUT_MS: '1000',
    // Every test talks from 127.0.0.1; the rate limit tests turn the limits on themselves.
    RATE_LIMIT_IP_PER_MIN: '0',
    RATE_LIMIT_OPENID_PER_MIN: '0',
    RATE_LIMIT_USER_PER_MIN: '0',
    RATE_LIMIT_EXPORT_PER_HOUR: '0',
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const dbName = opts.dbName ?? `test_${randomBytes(6).toString('hex')}`;
  const backend = await startBackend({
    config,
    logger: createLogger(config.logLevel, sink),
    mongodbUri: inject('mongodbUri'),
    dbName,
    now: opts.now,
    simulatorApps: opts.simulatorApps,
  });
  const sim = backend.simulator!;
  const responses: string[] = [];
  const signer = config.jwt.keys[0]!;
  const secrets = new Set<string>([...backend.wechatApps.map((a) => a.appSecret), config.dataEncryptionKey.toString('base64')]);
  if (signer.signKey?.type === 'secret') secrets.add(signer.signKey.export().toString('utf8'));

  const recordingFetch = async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const res = await fetch(input, init);
    responses.push(await res.clone().text());
    return res;
  };

  return {
    backend,
    url: backend.url,
    dbName,
    sim,
    client(opts = {}) {
      const linkOpts = {
        url: `${backend.url}/trpc`,
        transformer: superjson,
        fetch: recordingFetch,
        headers: () => ({
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.appId ? { 'x-wx-appid': opts.appId } : {}),
        }),
      };
      const link: TRPCLink<AppRouter> = opts.batch ? httpBatchLink(linkOpts) : httpLink(linkOpts);
      return createTRPCClient<AppRouter>({ links: [link] });
    },
    wxLogin(openid, opts = {}) {
      const app = opts.appId ? sim.appFor(opts.appId) : sim.app;
      const code = app.login(openid, opts.unionId ? { unionId: opts.unionId } : undefined);
      const key = app.sessionKeyOf(openid);
      if (key) secrets.add(key);
      return code;
    },
    fetch: (path, init) => recordingFetch(`${backend.url}${path}`, init),
    signToken: (payload, opts = {}) =>
      jwt.sign(payload, signer.signKey!, {
        algorithm: signer.alg,
        keyid: signer.kid,
        issuer: config.jwt.issuer,
        audience: config.jwt.audience,
        ...opts,
      }),
    loggedValues: (values) => values.filter((v) => logs.some((line) => line.includes(v))),
    leakedSecrets() {
      const leaks: string[] = [];
      for (const secret of secrets) {
        const forms = [secret, Buffer.from(secret, 'base64').toString('hex'), encodeURIComponent(secret)];
        if ([...responses, ...logs].some((text) => forms.some((f) => text.includes(f)))) leaks.push(secret.slice(0, 4) + '…');
      }
      return leaks;
    },
    logLines: () => logs,
    stop: () => backend.stop(),
  };
}

/**
 * A backend for the enclosing describe block (or file): started before its tests, stopped after
 * them, and checked then that no response or log line leaked a secret. Returns a stand-in that
 * forwards to the running backend.
 */
export function useTestBackend(env: Record<string, string> = {}, opts: TestBackendOptions = {}): TestBackend {
  let current: TestBackend | undefined;
  beforeAll(async () => {
    current = await startTestBackend(env, opts);
  });
  afterAll(async () => {
    if (!current) return;
    expect(current.leakedSecrets()).toEqual([]);
    await current.stop();
  });
  return new Proxy({} as TestBackend, {
    get(_target, key: keyof TestBackend) {
      if (!current) throw new Error('the test backend is not started yet (use it inside a test or hook)');
      return current[key];
    },
  });
}
