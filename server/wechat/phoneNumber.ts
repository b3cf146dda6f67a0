import { z } from 'zod';
import { AppError } from '../errors';
import type { WeChatAppCredentials } from './code2Session';
import { requestWeChatJson, type WeChatHttpOptions } from './requestJson';
import type { ServerApiCredential } from './serverApiAccess';

export interface WeChatPhone {
  /** As WeChat shows it: without the country code for +86, with it otherwise. */
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
  watermark: { appid: string; timestamp: number };
}

const phoneInfo = z.object({
  phoneNumber: z.string().min(1).max(32),
  purePhoneNumber: z.string().regex(/^\d{3,20}$/),
  countryCode: z.string().regex(/^\d{1,4}$/),
  watermark: z.object({ appid: z.string(), timestamp: z.number() }),
});

/** wxa/business/getuserphonenumber: the one-time code of the getPhoneNumber button → the number. */
export async function getPhoneNumber(
  app: WeChatAppCredentials,
  credential: ServerApiCredential,
  code: string,
  http: WeChatHttpOptions,
): Promise<WeChatPhone> {
  const query = new URLSearchParams(credential).toString();
  const url = `${app.apiBaseUrl}/wxa/business/getuserphonenumber${query ? `?${query}` : ''}`;
  const body = await requestWeChatJson<{ phone_info?: unknown }>(url, { method: 'POST', body: { code } }, http);
  const parsed = phoneInfo.safeParse(body.phone_info);
  if (!parsed.success) throw new AppError('WECHAT_ERROR', 'WeChat answered the phone number request with an unexpected shape');
  return parsed.data;
}

/** The same fields from the legacy encrypted getPhoneNumber data, once decrypted. */
export const legacyPhoneData = phoneInfo;
