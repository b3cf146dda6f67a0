import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { AccessTokenManager } from '../wechat/accessTokenManager';
import type { WeChatAttempt } from '../wechat/requestJson';

/**
 * Prometheus metrics of one backend: its own registry (tests run several backends in one
 * process), served at GET /metrics. Labels are bounded sets: procedure names, reasons, WeChat
 * endpoints and errcodes; never a user, an openid or a token.
 */
export interface Metrics {
  registry: Registry;
  /** auth.login / auth.register outcomes: 'ok' or the error reason. */
  authOutcome(procedure: string, outcome: string): void;
  /** Every attempt at a WeChat API (plug into WeChatHttpOptions.observe). */
  observeWeChat(attempt: WeChatAttempt): void;
  /** Exposes the access token manager's memory / database / fetch counts. */
  watchAccessTokens(manager: AccessTokenManager): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const auth = new Counter({
    name: 'wxlogin_auth_total',
    help: 'Logins and registrations by outcome (ok or the error reason)',
    labelNames: ['procedure', 'outcome'] as const,
    registers: [registry],
  });
  const upstream = new Histogram({
    name: 'wxlogin_wechat_request_duration_seconds',
    help: 'WeChat API attempts by endpoint',
    labelNames: ['endpoint'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: 'wxlogin_wechat_errors_total',
    help: 'Failed WeChat API attempts by endpoint and errcode (or network, http_status, not_json)',
    labelNames: ['endpoint', 'errcode'] as const,
    registers: [registry],
  });

  let tokenManager: AccessTokenManager | undefined;
  const seen = { memoryHits: 0, dbHits: 0, fetches: 0 };
  new Counter({
    name: 'wxlogin_access_token_lookups_total',
    help: 'Server access token lookups by where the token came from (memory, database, fetch from WeChat)',
    labelNames: ['source'] as const,
    registers: [registry],
    // Read the manager's own counters at scrape time instead of instrumenting its hot path.
    collect() {
      if (!tokenManager) return;
      const now = tokenManager.stats();
      this.inc({ source: 'memory' }, now.memoryHits - seen.memoryHits);
      this.inc({ source: 'database' }, now.dbHits - seen.dbHits);
      this.inc({ source: 'fetch' }, now.fetches - seen.fetches);
      Object.assign(seen, now);
    },
  });

  return {
    registry,
    authOutcome: (procedure, outcome) => auth.inc({ procedure, outcome }),
    observeWeChat(attempt) {
      upstream.observe({ endpoint: attempt.endpoint }, attempt.durationMs / 1000);
      if (attempt.failure !== undefined) upstreamErrors.inc({ endpoint: attempt.endpoint, errcode: String(attempt.failure) });
    },
    watchAccessTokens(manager) {
      tokenManager = manager;
    },
  };
}
