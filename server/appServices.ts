import { createAvatarUrls, type AvatarUrls } from './avatars/avatarUrls';
import type { Config } from './config';
import type { Database } from './db/connection';
import type { Logger } from './logger';
import { createRateLimiter } from './rateLimit/limiter';
import { MemoryRateLimitStore, type RateLimitStore } from './rateLimit/store';
import { createSecretBox } from './secrets/secretBox';
import { createInsertBatcher } from './infra/perf/insertBatcher';
import type { SessionDocument } from './db/models/session';
import { createReadBatcher } from './infra/perf/readBatcher';
import { createIdentityCache } from './services/identities';
import { createUserStore } from './data/users';
import { createPrincipalCache } from './services/principals';
import { sessionCheckProjection, type SessionCheckFields, type SessionDeps } from './services/sessions';
import { createWeChatApps } from './services/wechatApps';
import type { PlatformDeps } from './services/platform';
import { wechatAccessTokenModel } from './db/models/wechatAccessToken';
import { createAccessTokenManager } from './wechat/accessTokenManager';
import { viaAccessToken, viaOpenApiService } from './wechat/serverApiAccess';
import { createMetrics, type Metrics } from './metrics/metrics';
import type { AuthDeps } from './services/auth';
import type { AccountDeletionDeps } from './services/accountDeletion';
import { createAccountDeletionJobs } from './services/accountDeletionJob';
import type { AppModule } from './modules/defineModule';
import { modules as registeredModules } from './modules';
import { createAccessTokens, type AccessTokens } from './tokens/accessToken';
import { createConsentStore } from './data/consents';
import type { DataExportDeps } from './services/dataExport';

/** The WeChat app this server logs users into: the configured one, or the simulator's. */
export interface WeChatApp {
  appId: string;
  appSecret: string;
  apiBaseUrl: string;
}

/**
 * Everything the procedures call, built once at start (the composition root). Procedures and
 * scripts reach the service functions only through this.
 */
export interface AppServices {
  config: Config;
  db: Database;
  logger: Logger;
  tokens: AccessTokens;
  auth: AuthDeps;
  platform: PlatformDeps;
  /** user.deleteAccount, user.cancelDeletion, admin delete, and the deletion jobs (resumed at start, retried by the tick). */
  accountDeletion: AccountDeletionDeps;
  /** user.exportData and the admin CLI's export: one service, every module's export hook. */
  dataExport: DataExportDeps;
  metrics: Metrics;
  /** Set to the listening address once the server listens, where PUBLIC_BASE_URL is unset. */
  avatarUrls: AvatarUrls & { listeningAt(origin: string): void };
}

export function createAppServices(opts: {
  config: Config;
  /** The configured mini programs, or the simulator's; the first is the default. */
  wechatApps: WeChatApp[];
  db: Database;
  logger: Logger;
  now?: () => Date;
  /** Where rate limit counters live; memory of this process by default. */
  rateLimitStore?: RateLimitStore;
  /** The modules whose hooks run (account deletion, data export): server/modules/index.ts by default. */
  modules?: Record<string, AppModule>;
}): AppServices {
  const { config, db, logger } = opts;
  const now = opts.now ?? (() => new Date());
  const box = createSecretBox(config.dataEncryptionKey);
  const tokens = createAccessTokens(config.jwt);
  const cacheTtlMs = config.sessions.authCacheTtlS * 1000;
  // The data layer keeps its caches right by itself: users through the user store, sessions by
  // telling the principal cache of every ending. No service touches a cache.
  const users = createUserStore({ db, ttlMs: cacheTtlMs, now: () => now().getTime() });
  const sessions: SessionDeps = {
    db,
    now,
    refreshTokenTtlS: config.sessions.refreshTokenTtlS,
    maxAgeS: config.sessions.maxAgeS,
    inserts: createInsertBatcher<SessionDocument>(() => db.Session.collection),
    reads: createReadBatcher<SessionDocument>(() => db.Session.collection),
    checks: createReadBatcher<SessionCheckFields>(() => db.Session.collection, { projection: sessionCheckProjection }),
    users,
  };
  const principals = createPrincipalCache({ users, sessions, ttlMs: cacheTtlMs, now });
  sessions.onSessionEnded = (sessionId) => principals.invalidateSession(sessionId);
  // auth.me's consentRequired is cached for the same bound as the user.
  const consents = {
    versions: config.consentVersions,
    store: createConsentStore({ db, versions: config.consentVersions, ttlMs: cacheTtlMs, now: () => now().getTime() }),
    now,
  };
  const modules = opts.modules ?? registeredModules;
  const limiter = createRateLimiter({
    store: opts.rateLimitStore ?? new MemoryRateLimitStore(),
    perMinute: { ip: config.rateLimit.ipPerMinute, openid: config.rateLimit.openIdPerMinute, user: config.rateLimit.userPerMinute },
    exportPerHour: config.rateLimit.exportPerHour,
    now,
  });
  const apps = createWeChatApps(opts.wechatApps);
  const metrics = createMetrics();
  const avatarUrls = createAvatarUrls(config.publicBaseUrl);
  const http = { timeoutMs: config.wechat.timeoutMs, retries: config.wechat.retries, observe: metrics.observeWeChat };
  // One WeChat server access token per app, shared by every instance through the database.
  const accessTokens = createAccessTokenManager({
    model: wechatAccessTokenModel(db.connection),
    box,
    apps: opts.wechatApps,
    http,
    mode: config.wechat.tokenMode,
    now,
  });
  metrics.watchAccessTokens(accessTokens);
  // With Cloud Hosting's open API service the access token machinery stays idle: nothing asks it.
  const identities = createIdentityCache();
  const auth: AuthDeps = {
    db,
    box,
    tokens,
    wechat: {
      apps,
      http,
      watermarkMaxAgeS: config.wechat.watermarkMaxAgeS,
      cloudHosting: config.wechat.cloudHosting,
    },
    registration: config.registration,
    tickets: { db, box, ttlS: config.registrationTicketTtlS, now },
    sessions,
    principals,
    users,
    consents,
    identities,
    limiter,
    avatarUrls,
    logger,
    now,
  };
  const jobs = createAccountDeletionJobs({ db, now, logger, users, sessions, identities, modules });
  const serverApi = config.wechat.openApiService ? viaOpenApiService(opts.wechatApps[0]!.appId) : viaAccessToken(accessTokens);
  return {
    config,
    metrics,
    avatarUrls,
    db,
    logger,
    tokens,
    platform: {
      db,
      box,
      apps,
      http,
      accessTokens,
      serverApi,
      cloudHosting: config.wechat.cloudHosting,
      users,
      watermarkMaxAgeS: config.wechat.watermarkMaxAgeS,
      avatarUrls,
      now,
    },
    auth,
    accountDeletion: { auth, jobs, delayDays: config.accountDeletionDelayDays },
    dataExport: { db, log: logger, now, avatarUrls, consents: consents.store, modules },
  };
}
