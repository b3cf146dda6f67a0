import { AppError } from '../errors';
import type { WeChatAppCredentials, WeChatSession } from '../wechat/code2Session';

/**
 * The mini programs this backend serves. A request names its app (the `x-wx-appid` header, or
 * the Referer WeChat itself sets: https://servicewechat.com/{appid}/{version}/page-frame.html);
 * with a single app configured, naming it is optional.
 */
export interface WeChatApps {
  list: WeChatAppCredentials[];
  /** The named app, or the only one; throws WECHAT_APP_UNKNOWN. */
  resolve(appId: string | undefined): WeChatAppCredentials;
}

/**
 * Who a login is for, in which app: what code2Session said, or on WeChat Cloud Hosting what the
 * gateway said, which comes without a session_key (null).
 */
export type AppSession = Omit<WeChatSession, 'sessionKey'> & { appId: string; sessionKey: string | null };

export function createWeChatApps(list: WeChatAppCredentials[]): WeChatApps {
  if (list.length === 0) throw new Error('no WeChat app configured');
  const byId = new Map(list.map((a) => [a.appId, a]));
  return {
    list,
    resolve(appId) {
      if (appId === undefined) {
        if (list.length === 1) return list[0]!;
        throw new AppError('WECHAT_APP_UNKNOWN', 'This backend serves several mini programs: name yours in the x-wx-appid header');
      }
      const app = byId.get(appId);
      if (!app) throw new AppError('WECHAT_APP_UNKNOWN', 'This backend does not serve that mini program');
      return app;
    },
  };
}

const SERVICEWECHAT_REFERER = /^https:\/\/servicewechat\.com\/(\w{4,64})\//;

/** The app a request names: the explicit header wins over the Referer WeChat sets. */
export function appIdOfRequest(headers: { 'x-wx-appid'?: string | string[]; referer?: string }): string | undefined {
  const header = headers['x-wx-appid'];
  if (typeof header === 'string' && header.length > 0) return header.slice(0, 64);
  return headers.referer ? SERVICEWECHAT_REFERER.exec(headers.referer)?.[1] : undefined;
}
