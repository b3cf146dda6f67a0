import { AppError } from '../errors';
import type { AppSession, WeChatApps } from '../services/wechatApps';
import type { GatewayCaller } from './gatewayHeaders';

/**
 * A Cloud Hosting login: the user the gateway named, in an app this backend serves. It replaces
 * wx.login + code2Session, so there is no session_key.
 */
export function gatewaySession(apps: WeChatApps, caller: GatewayCaller | undefined): AppSession {
  if (!caller) {
    throw new AppError('CLOUD_IDENTITY_MISSING', "WeChat's gateway named no mini program user for this request: call it from the mini program");
  }
  const app = apps.resolve(caller.appId);
  return { appId: app.appId, openId: caller.openId, unionId: caller.unionId, sessionKey: null };
}

/** What needs a session_key (legacy encrypted data, rawData signatures, checkSession) cannot work on Cloud Hosting. */
export const sessionKeyUnavailable = () =>
  new AppError(
    'SESSION_KEY_UNAVAILABLE',
    'On WeChat Cloud Hosting there is no session_key: send plain profile fields, and the getPhoneNumber code or cloudID',
  );
