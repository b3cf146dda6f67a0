import { z } from 'zod';
import { AppError } from '../errors';
import { WeChatApiError } from './errcodes';
import { requestWeChatJson, type WeChatHttpOptions } from './requestJson';

export interface WeChatAppCredentials {
  appId: string;
  appSecret: string;
  apiBaseUrl: string;
}

export interface WeChatSession {
  openId: string;
  /** Base64 of 16 bytes. A secret: it never leaves this server. */
  sessionKey: string;
  unionId: string | null;
}

const code2SessionAnswer = z.object({
  openid: z.string().min(1),
  session_key: z.string().refine((k) => Buffer.from(k, 'base64').length === 16),
  unionid: z.string().min(1).optional(),
});

/** auth.code2Session: trades a wx.login code for the user's openid and session_key. */
export async function code2Session(app: WeChatAppCredentials, code: string, http: WeChatHttpOptions): Promise<WeChatSession> {
  const query = new URLSearchParams({
    appid: app.appId,
    secret: app.appSecret,
    js_code: code,
    grant_type: 'authorization_code',
  });
  let body: object;
  try {
    body = await requestWeChatJson(`${app.apiBaseUrl}/sns/jscode2session?${query}`, { method: 'GET' }, http);
  } catch (err) {
    // An attempt that timed out may still have used the code up at WeChat; the retry then hears
    // "code used". That is our upstream's failure, not a double submit by the app.
    if (err instanceof WeChatApiError && err.errcode === 40163 && err.afterRetry) {
      throw new AppError('WECHAT_UNAVAILABLE', 'WeChat did not answer in time; call wx.login again and retry');
    }
    throw err;
  }
  const parsed = code2SessionAnswer.safeParse(body);
  if (!parsed.success) throw new AppError('WECHAT_ERROR', 'WeChat answered the login with an unexpected shape');
  return { openId: parsed.data.openid, sessionKey: parsed.data.session_key, unionId: parsed.data.unionid ?? null };
}
