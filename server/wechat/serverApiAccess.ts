import type { AccessTokenManager } from './accessTokenManager';

/** The query parameters that authorise one call of a WeChat server API. */
export type ServerApiCredential = Readonly<Record<string, string>>;

/**
 * How calls of WeChat's server APIs (phone number ...) are authorised: with this app's access
 * token, or on WeChat Cloud Hosting by the open API service, which needs none.
 */
export interface ServerApiAccess {
  /** Calls fn with the credential for this app; a rejected access token is replaced and fn retried once. */
  call<T>(appId: string, fn: (credential: ServerApiCredential) => Promise<T>): Promise<T>;
}

export function viaAccessToken(tokens: AccessTokenManager): ServerApiAccess {
  return { call: (appId, fn) => tokens.withToken(appId, (token) => fn({ access_token: token })) };
}

/**
 * Cloud Hosting's open API service ("开放接口服务"): the container calls http://api.weixin.qq.com
 * without access_token and a side-loaded proxy adds the credentials of the environment's own
 * app, the first one configured. Another app (resource sharing) is named by `from_appid`.
 */
export function viaOpenApiService(ownAppId: string): ServerApiAccess {
  return { call: (appId, fn) => fn(appId === ownAppId ? {} : { from_appid: appId }) };
}
