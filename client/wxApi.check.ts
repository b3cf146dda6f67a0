// Type-level only (checked by client/tsconfig.json with miniprogram-api-typings): the real `wx`
// can be handed to createMiniProgramClient as it is.
import type { WxCloudApi } from './cloudTransport';
import type { WxApi } from './wxApi';

export const realWxSatisfiesWxApi = (): WxApi => wx;

// And for WeChat Cloud Hosting: wx.cloud.callContainer and wx.cloud.CloudID as the cloud transport uses them.
export const realWxSatisfiesWxCloudApi = (): WxCloudApi => wx;
