import type { AppServices } from '../appServices';

/**
 * What every procedure sees. HTTP fills it from the request; scripts build it directly
 * (createCaller) with the same services.
 */
export interface CreateContextOptions {
  services: AppServices;
  /** The raw Authorization header, if any. */
  authorization?: string | undefined;
  clientIp?: string | undefined;
  userAgent?: string | undefined;
}

export function createContext(opts: CreateContextOptions) {
  return {
    services: opts.services,
    authorization: opts.authorization,
    clientIp: opts.clientIp,
    userAgent: opts.userAgent,
  };
}

export type Context = ReturnType<typeof createContext>;
