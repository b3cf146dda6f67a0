import { randomBytes } from 'node:crypto';
import { createAppServices, type AppServices, type WeChatApp } from './appServices';
import type { Config } from './config';
import { openDatabase, SERVER_SELECTION_TIMEOUT_MS } from './db/connection';
import { redactMongoUri } from './db/redactUri';
import { isDatabaseUnavailable } from './errors';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './infra/dev/embeddedDatabase';
import { createHttpServer } from './http';
import { startMetricsServer } from './metrics/metricsServer';
import { rateLimitSlotModel } from './db/models/rateLimitSlot';
import { MongoRateLimitStore } from './rateLimit/mongoStore';
import type { Logger } from './logger';
import type { AppModule } from './modules/defineModule';
import { deleteExpiredRegistrationTickets } from './services/registrationTickets';
import { deleteExpiredSessions } from './services/sessions';
import { deleteExpiredClaims } from './services/claims';
import { migrateLegacySessions, migrateSessionLists } from './services/sessionMigration';
import { createWeChatSimulator, type WeChatSimulator } from './infra/dev/wechatSimulator';
import { createOpenApiServiceStandIn, type OpenApiServiceStandIn } from './infra/dev/wechatSimulator/openApiService';

export interface BackendOptions {
  config: Config;
  logger: Logger;
  /** Tests share one database server and give each file its own database name. */
  mongodbUri?: string;
  dbName?: string;
  now?: () => Date;
  /** The mini programs the built-in simulator serves when none is configured: how many (default 1), or which. */
  simulatorApps?: number | { appId: string; appSecret: string }[];
  /** The modules whose lifecycle hooks run: server/modules/index.ts unless a test brings its own. */
  modules?: Record<string, AppModule>;
}

export interface RunningBackend {
  /** Base URL of the HTTP server; tRPC is at `${url}/trpc`. */
  url: string;
  /** Base URL of the METRICS_PORT listener, when configured (then /metrics is only there). */
  metricsUrl: string | undefined;
  services: AppServices;
  /** Present when no WeChat app was configured. */
  simulator: WeChatSimulator | undefined;
  /** With the simulator and WECHAT_OPEN_API_SERVICE: the stand-in for Cloud Hosting's open API service. */
  openApiService: OpenApiServiceStandIn | undefined;
  /** Present when no MONGODB_URI was configured. */
  embeddedDatabase: EmbeddedDatabase | undefined;
  /** The first is the default app. */
  wechatApps: WeChatApp[];
  stop(): Promise<void>;
}

const CLEANUP_INTERVAL_MS = 60_000;
/**
 * Sessions live for weeks, and removing the expired ones reads the whole collection on the
 * embedded database (no filter but _id is answered from an index there): 200,000 sessions cost
 * seconds of its CPU, taken from every call meanwhile. Once an hour is soon enough.
 */
const SESSION_CLEANUP_EVERY = 60;
/** `mongodb://host/db?...`: the database named in the URI, if any. */
const DB_IN_URI = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/;

/**
 * Starts the whole product: the WeChat side (real, or the built-in simulator), the database
 * (MONGODB_URI, or the embedded one), the services and the HTTP server. `stop()` undoes it all
 * in reverse order.
 */
export async function startBackend(opts: BackendOptions): Promise<RunningBackend> {
  const { config, logger } = opts;
  const stack: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stack.reverse().splice(0)) await stop().catch((err) => logger.error({ err }, 'error while stopping'));
  };

  try {
    let simulator: WeChatSimulator | undefined;
    let openApiService: OpenApiServiceStandIn | undefined;
    let wechatApps: WeChatApp[];
    if (config.wechat.apps.length > 0) {
      wechatApps = config.wechat.apps.map((a) => ({ ...a, apiBaseUrl: config.wechat.apiBaseUrl }));
    } else {
      const apps = Array.isArray(opts.simulatorApps)
        ? opts.simulatorApps
        : Array.from({ length: opts.simulatorApps ?? 1 }, () => ({
            appId: 'wx' + randomBytes(8).toString('hex'),
            appSecret: randomBytes(16).toString('hex'),
          }));
      simulator = createWeChatSimulator({ apps });
      let url = await simulator.start();
      stack.push(() => simulator!.stop());
      if (config.wechat.openApiService) {
        // Server API calls then go, without a token, through the stand-in of the side-loaded proxy.
        openApiService = createOpenApiServiceStandIn({ simulator, ownAppId: apps[0]!.appId });
        url = await openApiService.start();
        stack.push(() => openApiService!.stop());
      }
      wechatApps = apps.map((a) => ({ ...a, apiBaseUrl: url }));
      logger.warn({ simulatorUrl: url, appIds: apps.map((a) => a.appId) }, 'No WeChat app configured: using the built-in WeChat simulator (development only)');
    }

    let embeddedDatabase: EmbeddedDatabase | undefined;
    let uri = opts.mongodbUri ?? config.mongodbUri;
    if (!uri) {
      embeddedDatabase = await startEmbeddedDatabase({ dir: config.devdbDir, log: (line) => logger.info(line) });
      stack.push(() => embeddedDatabase!.stop());
      uri = embeddedDatabase.uri;
      logger.info(`database: ${embeddedDatabase.description}`);
    }

    const db = await openDatabase(uri, { dbName: opts.dbName ?? (DB_IN_URI.test(uri) ? undefined : 'wx_login') }).catch((err: unknown) => {
      // Mongoose's own name for the first connection's server selection failing.
      const unavailable = isDatabaseUnavailable(err) || (err as Error).name === 'MongooseServerSelectionError';
      throw unavailable ? unreachable(err, embeddedDatabase ? undefined : uri) : err;
    });
    stack.push(() => db.close());

    if (config.jwt.ephemeral) logger.warn('JWT_SECRET and JWT_KEYS are unset: using an ephemeral key, so tokens die with this process');

    const migrated = await migrateLegacySessions({ db, now: opts.now ?? (() => new Date()), maxAgeS: config.sessions.maxAgeS });
    if (migrated > 0) logger.info({ migrated }, 'sessions of the old shape (one document per refresh token) migrated');
    const relisted = await migrateSessionLists({ db, now: opts.now ?? (() => new Date()) });
    if (relisted > 0) logger.info({ relisted }, "users' session lists of the old shape (user_sessions) turned into session references");

    // Counters in MongoDB: every instance counts against the same limit.
    let rateLimitStore: MongoRateLimitStore | undefined;
    if (config.rateLimit.store === 'mongodb') {
      const slots = rateLimitSlotModel(db.connection);
      await slots.init();
      rateLimitStore = new MongoRateLimitStore(slots);
    }
    const services = createAppServices({ config, wechatApps, db, logger, now: opts.now, rateLimitStore, modules: opts.modules });
    // Account deletions a stopped process left halfway (or that came due while none ran) resume
    // now, in the background: a start does not wait for them. The tick below retries failures.
    const deletions = services.accountDeletion.jobs;
    void deletions.runDue().catch((err: unknown) => logger.warn({ err }, 'resuming account deletions failed; the next tick retries'));
    // No TTL indexes in the embedded database: expired rows are refused by query and removed here.
    let cleanups = 0;
    const cleanup = setInterval(() => {
      const deps = { db, now: opts.now ?? (() => new Date()) };
      Promise.all([
        deleteExpiredRegistrationTickets(deps),
        ++cleanups % SESSION_CLEANUP_EVERY === 0 ? deleteExpiredSessions(deps) : undefined,
        deleteExpiredClaims(deps),
        rateLimitStore?.deleteExpired(deps.now()),
        // Deletions past their cooling-off period, and those whose last run failed.
        deletions.runDue(),
      ]).catch((err) =>
        logger.warn({ err }, 'cleanup of expired tickets and sessions (or an account deletion run) failed'),
      );
    }, CLEANUP_INTERVAL_MS);
    cleanup.unref();
    stack.push(async () => clearInterval(cleanup));

    const http = createHttpServer(services);
    const url = await http.start();
    stack.push(() => http.stop());
    services.avatarUrls.listeningAt(url);
    let metricsUrl: string | undefined;
    if (config.metricsPort !== undefined) {
      const metricsServer = await startMetricsServer(services.metrics.registry, { host: config.host, port: config.metricsPort });
      stack.push(() => metricsServer.stop());
      metricsUrl = metricsServer.url;
    }
    logger.info({ url, trpc: `${url}/trpc`, health: `${url}/healthz`, metrics: `${metricsUrl ?? url}/metrics` }, 'listening');

    return { url, metricsUrl, services, simulator, openApiService, embeddedDatabase, wechatApps, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * The driver says `connect ECONNREFUSED 127.0.0.1:27999`; an operator needs to know it was
 * MongoDB, which setting pointed there, and what was tried, never the password.
 */
function unreachable(err: unknown, configuredUri: string | undefined): Error {
  const cause = err instanceof Error ? err.message : String(err);
  const where = configuredUri ? `MONGODB_URI (${redactMongoUri(configuredUri)})` : 'the embedded database';
  const password = configuredUri && /^mongodb(?:\+srv)?:\/\/[^:@/]*:([^@/]*)@/.exec(configuredUri)?.[1];
  const said = password ? cause.replaceAll(password, '***') : cause;
  return new Error(`cannot reach MongoDB at ${where} within ${SERVER_SELECTION_TIMEOUT_MS / 1000} s: ${said}`, { cause: err });
}
