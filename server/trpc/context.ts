import type { AppServices } from '../appServices';

/**
 * What every procedure sees. HTTP fills it from the request; scripts build it directly
 * (createCaller) with the same services.
 */
export interface CreateContextOptions {
  services: AppServices;
  /** The raw Authorization header, if any. */
  authorization?: string | undefined;
  /** The mini program the request names (x-wx-appid or WeChat's Referer); see wechatApps. */
  appId?: string | undefined;
  clientIp?: string | undefined;
  userAgent?: string | undefined;
}

export function createContext(opts: CreateContextOptions) {
  return {
    services: opts.services,
    authorization: opts.authorization,
    appId: opts.appId,
    clientIp: opts.clientIp,
    userAgent: opts.userAgent,
  };
}

export type Context = ReturnType<typeof createContext>;
