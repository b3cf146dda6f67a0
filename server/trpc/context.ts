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

export function createContext(opts: CreateContextOptions) {
  return {
    services: opts.services,
    authorization: opts.authorization,
    gatewayCaller: opts.gatewayCaller,
    appId: opts.appId,
    clientIp: opts.clientIp,
    userAgent: opts.userAgent,
    admin: opts.admin === true,
    log: opts.log ?? opts.services.logger,
  };
}

export type Context = ReturnType<typeof createContext>;
