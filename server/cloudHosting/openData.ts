import type { CloudPhoneData } from '../../shared';
import { AppError } from '../errors';
import type { Actor, PlatformDeps } from '../services/platform';
import { checkWatermark } from '../wechat/dataCrypto';

/**
 * The phone number from a `cloudID` that WeChat Cloud Hosting's gateway replaced with its open
 * data. Trusted as far as the gateway's identity headers are, and only in that mode: anywhere else
 * the "replaced" object is whatever the client wrote. Its watermark must name the caller's app
 * (and be recent, with WECHAT_WATERMARK_MAX_AGE_S).
 */
export function phoneFromCloudID(deps: PlatformDeps, actor: Actor, replaced: CloudPhoneData) {
  if (!deps.cloudHosting) {
    throw new AppError('CLOUD_GATEWAY_REQUIRED', "A cloudID's data is only accepted from WeChat Cloud Hosting's gateway; send the getPhoneNumber code");
  }
  const { watermark, ...phone } = replaced.data;
  checkWatermark({ watermark }, { appId: actor.appId, maxAgeS: deps.watermarkMaxAgeS, nowS: Math.floor(deps.now().getTime() / 1000) });
  return phone;
}
