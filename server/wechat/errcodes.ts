import type { ErrorReason } from '../../shared';
import { AppError } from '../errors';

/**
 * Every WeChat errcode we know, mapped in this one place to a reason and a message a user may
 * see. `transient` errcodes are retried with backoff before they become WECHAT_UNAVAILABLE.
 */
interface ErrcodeMeaning {
  reason: ErrorReason;
  message: string;
  transient?: boolean;
}

const ERRCODES: Record<number, ErrcodeMeaning> = {
  [-1]: { reason: 'WECHAT_UNAVAILABLE', message: 'WeChat is busy; try again shortly', transient: true },
  40029: { reason: 'WECHAT_CODE_INVALID', message: 'The login code is invalid or expired; call wx.login again' },
  40163: { reason: 'WECHAT_CODE_USED', message: 'The login code was already used; call wx.login again' },
  45011: { reason: 'WECHAT_RATE_LIMITED', message: 'Too many login attempts; wait a minute and try again' },
  40226: { reason: 'WECHAT_USER_BLOCKED', message: 'WeChat blocked this login for a high-risk account' },
  // Our appid or secret: the server is misconfigured, never the user's fault.
  40013: { reason: 'WECHAT_MISCONFIGURED', message: 'The server is misconfigured for WeChat login' },
  40125: { reason: 'WECHAT_MISCONFIGURED', message: 'The server is misconfigured for WeChat login' },
  41002: { reason: 'WECHAT_MISCONFIGURED', message: 'The server is misconfigured for WeChat login' },
  41004: { reason: 'WECHAT_MISCONFIGURED', message: 'The server is misconfigured for WeChat login' },
  41008: { reason: 'WECHAT_CODE_INVALID', message: 'The login code is missing; call wx.login again' },
};

/** A WeChat API answered with an errcode. `errcode` is kept for logs and metrics. */
export class WeChatApiError extends AppError {
  override name = 'WeChatApiError';
  /** Set when this answer came to a retry: an earlier attempt may have reached WeChat. */
  afterRetry = false;
  constructor(
    readonly errcode: number,
    meaning: ErrcodeMeaning,
  ) {
    super(meaning.reason, meaning.message);
  }
}

export function meaningOf(errcode: number): ErrcodeMeaning {
  return ERRCODES[errcode] ?? { reason: 'WECHAT_ERROR', message: `WeChat answered with error ${errcode}` };
}

export function isTransientErrcode(errcode: number): boolean {
  return meaningOf(errcode).transient === true;
}

export function weChatErrorFor(errcode: number): WeChatApiError {
  return new WeChatApiError(errcode, meaningOf(errcode));
}
