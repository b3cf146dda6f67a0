import type { GatewayCaller } from '../cloudHosting/gatewayHeaders';
import { AppError } from '../errors';
import type { AccessTokenClaims } from '../tokens/accessToken';
import { wechatSessionOf, type AuthDeps } from './auth';

/**
 * The proof that the person deleting the account is present: an access token may have been
 * copied, a fresh wx.login code cannot. The code is exchanged (code2Session) in the token's app
 * and must name the token's openid there. On WeChat Cloud Hosting there is no code: the user the
 * gateway names for this request is the proof, as it is for login, and must be the same.
 */
export async function provePresence(deps: AuthDeps, claims: AccessTokenClaims, code: string | undefined, caller: GatewayCaller | undefined): Promise<void> {
  const session = await wechatSessionOf(deps, claims.appId, code, caller);
  if (session.appId !== claims.appId || session.openId !== claims.openId) {
    throw new AppError('LOGIN_PROOF_MISMATCH', 'The wx.login code is not of the signed-in user in this mini program; call wx.login on this phone and try again');
  }
}
