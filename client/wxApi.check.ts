// Type-level only (checked by client/tsconfig.json with miniprogram-api-typings): the real `wx`
// can be handed to createMiniProgramClient as it is.
import type { WxApi } from './wxApi';

export const realWxSatisfiesWxApi = (): WxApi => wx;
