import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * What WeChat Cloud Hosting's gateway says about a request, from the headers it adds ("容器内变量
 *信息"). Read only with WECHAT_CLOUD_HOSTING=true: anywhere else anyone can send these headers.
 * Even there they are only as trustworthy as the rule that the service is reachable through the
 * gateway alone (public access off), which the README's deployment section insists on.
 */
export interface GatewayRequest {
  /** X-WX-SOURCE: what triggered the call. Its presence is WeChat's stated sign of "came through the gateway". */
  source: string | undefined;
  /** The mini program user calling, when the gateway named one. */
  caller: GatewayCaller | undefined;
  /** X-Original-Forwarded-For, when it holds one IP address. */
  clientIp: string | undefined;
}

export interface GatewayCaller {
  appId: string;
  openId: string;
  unionId: string | null;
}

type Headers = Record<string, string | string[] | undefined>;

const appId = z.string().regex(/^\w{4,64}$/);
const openId = z.string().regex(/^[\w-]{1,128}$/);
const unionId = z.string().regex(/^[\w-]{1,128}$/);

/** A header's single value (Node lowercases names; a repeated header is refused as absent). */
const one = (headers: Headers, name: string): string | undefined => {
  const value = headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
};

/**
 * The caller: X-WX-OPENID / X-WX-APPID / X-WX-UNIONID, or under resource sharing (the app calls
 * another account's environment) the X-WX-FROM-* forms. The three come from the same form, never
 * mixed; a malformed value names no caller.
 */
function callerOf(headers: Headers): GatewayCaller | undefined {
  const prefix = one(headers, 'x-wx-from-openid') ? 'x-wx-from-' : 'x-wx-';
  const parsed = z
    .object({ appId, openId, unionId: unionId.optional() })
    .safeParse({ appId: one(headers, `${prefix}appid`), openId: one(headers, `${prefix}openid`), unionId: one(headers, `${prefix}unionid`) });
  return parsed.success ? { ...parsed.data, unionId: parsed.data.unionId ?? null } : undefined;
}

export function gatewayRequestOf(headers: Headers): GatewayRequest {
  const forwardedFor = one(headers, 'x-original-forwarded-for')?.trim();
  return {
    source: one(headers, 'x-wx-source'),
    caller: callerOf(headers),
    clientIp: forwardedFor && isIP(forwardedFor) ? forwardedFor : undefined,
  };
}
