import { sessionKeyUnavailable } from '../cloudHosting/gatewaySession';
import { isSessionKeyValid } from '../wechat/checkSession';
import { storedSessionKey } from './identities';
import type { Actor, PlatformDeps } from './platform';

/**
 * Whether the session_key stored at the user's last login in this app is still the one WeChat
 * holds. When it is not, the app must call wx.login (and log in) before it sends encrypted data.
 */
export async function checkStoredSessionKey(deps: PlatformDeps, actor: Actor): Promise<{ valid: boolean }> {
  if (deps.cloudHosting) throw sessionKeyUnavailable();
  const sessionKey = await storedSessionKey(deps, actor);
  if (!sessionKey) return { valid: false };
  const app = deps.apps.resolve(actor.appId);
  const valid = await deps.accessTokens.withToken(actor.appId, (token) =>
    isSessionKeyValid(app, token, actor.openId, sessionKey, deps.http),
  );
  return { valid };
}
