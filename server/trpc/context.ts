import type { AppServices } from '../appServices';
import type { GatewayCaller } from '../cloudHosting/gatewayHeaders';
import type { Logger } from '../logger';

/**
 * What every procedure sees. HTTP fills it from the request; scripts build it directly
 * (createCaller) with the same services.
 */
export interface CreateContextOptions {
  services: AppServices;
  /** On WeChat Cloud Hosting: the mini program user the gateway named (server/cloudHosting/). */
  gatewayCaller?: GatewayCaller | undefined;
  /** The raw Authorization header, if any. */
  authorization?: string | undefined;
  /** The mini program the request names (x-wx-appid or WeChat's Referer); see wechatApps. */
  appId?: string | undefined;
  clientIp?: string | undefined;
  userAgent?: string | undefined;
  /** The request's logger (carries its request id); the services' logger otherwise. */
  log?: Logger | undefined;
  /**
   * Admin rights, for the admin procedures (adminProcedure). Only in-process callers set it
   * (scripts/admin.ts). HTTP never does: there is no admin credential for HTTP yet; a request would
   * have to carry a valid one (e.g. an admin API key, checked in constant time) before it may.
   */
  admin?: boolean | undefined;
}

/**
 * The context every procedure gets, and what a module's service functions are handed:
 * - `db`: the database (`db.connection` for a module's own models, see defineModel);
 * - `log`: the request's logger (pino; carries the request id). Never log a token or a secret;
 * - `now()`: the clock (tests move it), for every timestamp a service writes;
 * - `limiter`: the rate limiter (`limiter.check('user', userId)` counts one call in the per-user
 *   bucket and throws RATE_LIMITED over the limit; userLimitedProcedure does it for you);
 * - `clientIp`, `userAgent`, `appId` (the mini program the request names);
 * - `services`: the core's wiring (auth, WeChat, tokens ...), for the core's own procedures.
 * A protectedProcedure adds `user` (the signed-in, active user), `openId` and `claims`.
 */
export function createContext(opts: CreateContextOptions) {
  const { services } = opts;
  return {
    services,
    db: services.db,
    log: opts.log ?? services.logger,
    now: services.auth.now,
    limiter: services.auth.limiter,
    authorization: opts.authorization,
    gatewayCaller: opts.gatewayCaller,
    appId: opts.appId,
    clientIp: opts.clientIp,
    userAgent: opts.userAgent,
    admin: opts.admin === true,
  };
}

export type Context = ReturnType<typeof createContext>;
