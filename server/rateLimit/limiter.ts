import { AppError } from '../errors';
import type { RateLimitStore } from './store';

/**
 * `ip`: auth.login / register / refresh per client address (see ipBucket.ts); `openid`: logins
 * and registrations per WeChat user; `user`: calls per signed-in user to the procedures that call
 * WeChat or write (bindPhone, checkSession, updateProfile, avatar upload), one bucket for them all.
 */
export type RateLimitBucket = 'ip' | 'openid' | 'user';

export interface RateLimiter {
  /** Counts one attempt; throws RATE_LIMITED with retryAfterS when the bucket is over its limit. */
  check(bucket: RateLimitBucket, key: string): Promise<void>;
}

const WINDOW_MS = 60_000;

/** Per-minute limits; a limit of 0 turns that bucket off. */
export function createRateLimiter(opts: { store: RateLimitStore; perMinute: Record<RateLimitBucket, number>; now: () => Date }): RateLimiter {
  return {
    async check(bucket, key) {
      const limit = opts.perMinute[bucket];
      if (limit <= 0 || !key) return;
      const nowMs = opts.now().getTime();
      const { count, resetAtMs } = await opts.store.hit(`${bucket}:${key}`, WINDOW_MS, nowMs, limit);
      if (count > limit) {
        const retryAfterS = Math.max(1, Math.ceil((resetAtMs - nowMs) / 1000));
        throw new AppError('RATE_LIMITED', `Too many attempts; try again in ${retryAfterS} s`, { retryAfterS });
      }
    },
  };
}
