import { createHmac } from 'node:crypto';
import type { WeChatAppCredentials } from './code2Session';
import { WeChatApiError } from './errcodes';
import { requestWeChatJson, type WeChatHttpOptions } from './requestJson';

/** WeChat's answer when the signature was made with a session_key it no longer holds. */
const INVALID_SIGNATURE = 87009;

/**
 * wxa/checksession: is the session_key we stored for this user still the one WeChat holds?
 * The signature is hex(HMAC-SHA256(key = session_key as its base64 text, message = "")):
 * the key itself never travels.
 */
export async function isSessionKeyValid(
  app: WeChatAppCredentials,
  accessToken: string,
  openId: string,
  sessionKey: string,
  http: WeChatHttpOptions,
): Promise<boolean> {
  const signature = createHmac('sha256', sessionKey).update('').digest('hex');
  const query = new URLSearchParams({ access_token: accessToken, openid: openId, signature, sig_method: 'hmac_sha256' });
  try {
    await requestWeChatJson(`${app.apiBaseUrl}/wxa/checksession?${query}`, { method: 'GET' }, http);
    return true;
  } catch (err) {
    if (err instanceof WeChatApiError && err.errcode === INVALID_SIGNATURE) return false;
    throw err;
  }
}
