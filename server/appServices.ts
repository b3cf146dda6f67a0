import type { Config } from './config';
import type { Database } from './db/connection';
import type { Logger } from './logger';
import { createSecretBox, dataEncryptionKey } from './secrets/secretBox';
import type { AuthDeps } from './services/auth';
import { createAccessTokens, type AccessTokens } from './tokens/accessToken';

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
}

export function createAppServices(opts: {
  config: Config;
  wechatApp: WeChatApp;
  db: Database;
  logger: Logger;
  now?: () => Date;
}): AppServices {
  const { config, db, logger } = opts;
  const now = opts.now ?? (() => new Date());
  const box = createSecretBox(dataEncryptionKey(config.dataEncryptionKey, config.jwt.secret));
  const tokens = createAccessTokens(config.jwt);
  return {
    config,
    db,
    logger,
    tokens,
    auth: {
      db,
      box,
      tokens,
      wechat: {
        app: opts.wechatApp,
        http: { timeoutMs: config.wechat.timeoutMs, retries: config.wechat.retries },
        watermarkMaxAgeS: config.wechat.watermarkMaxAgeS,
      },
      registration: config.registration,
      tickets: { db, box, ttlS: config.registrationTicketTtlS, now },
      now,
    },
  };
}
