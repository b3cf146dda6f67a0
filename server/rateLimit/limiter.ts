import { AppError } from '../errors';
import type { RateLimitStore } from './store';

/**
 * `ip`: auth.login / register / refresh per client address (see ipBucket.ts); `openid`: logins
 * and registrations per WeChat user; `user`: calls per signed-in user to the procedures that call
 * WeChat or write (bindPhone, checkSession, updateProfile, recordConsent, avatar upload), one
 * bucket for them all; `export`: user.exportData per user, per hour.
 */
export type RateLimitBucket = 'ip' | 'openid' | 'user' | 'export';

export interface RateLimiter {
  /** Counts one attempt; throws RATE_LIMITED with retryAfterS when the bucket is over its limit. */
  check(bucket: RateLimitBucket, key: string): Promise<void>;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** Per-minute limits, and the export's per hour; a limit of 0 turns that bucket off. */
export function createRateLimiter(opts: {
  store: RateLimitStore;
  perMinute: Record<Exclude<RateLimitBucket, 'export'>, number>;
  exportPerHour: number;
  now: () => Date;
}): RateLimiter {
  const limits: Record<RateLimitBucket, { limit: number; windowMs: number }> = {
    ip: { limit: opts.perMinute.ip, windowMs: MINUTE_MS },
    openid: { limit: opts.perMinute.openid, windowMs: MINUTE_MS },
    user: { limit: opts.perMinute.user, windowMs: MINUTE_MS },
    export: { limit: opts.exportPerHour, windowMs: HOUR_MS },
  };
  return {
    async check(bucket, key) {
      const { limit, windowMs } = limits[bucket];
      if (limit <= 0 || !key) return;
      const nowMs = opts.now().getTime();
      const { count, resetAtMs } = await opts.store.hit(`${bucket}:${key}`, windowMs, nowMs, limit);
      if (count > limit) {
        const retryAfterS = Math.max(1, Math.ceil((resetAtMs - nowMs) / 1000));
        throw new AppError('RATE_LIMITED', `Too many attempts; try again in ${retryAfterS} s`, { retryAfterS });
      }
    },
  };
}
