import type { RateLimitSlotModel } from '../db/models/rateLimitSlot';
import { isDuplicateKey } from '../errors';
import type { RateLimitStore } from './store';

/**
 * Rate limit counters shared by every instance through MongoDB (RATE_LIMIT_STORE=mongodb).
 *
 * Windows are fixed and aligned to the clock (every instance agrees on them). A counted call
 * claims a number in its window by inserting `key@window#n`: the insert of a unique `_id` is the
 * one write that is atomic on FerretDB v1 as on MongoDB. An upsert with `$inc`, the usual counter,
 * loses updates on FerretDB (300 concurrent increments of one counter from three connections
 * ended at 7), so the embedded database would let a burst through.
 *
 * Each number is claimed once, so at most `limit` calls of a window get a number ≤ limit, however
 * many instances there are. This instance hands its concurrent calls distinct numbers, starting
 * above the highest it has claimed or seen taken: a call costs one insert, one more for each
 * number another instance took meanwhile, and none once the window is known to be full.
 */
export class MongoRateLimitStore implements RateLimitStore {
  /** `key@windowStart` → the highest number handed out here or seen taken, and when the window ends. */
  private windows = new Map<string, { top: number; resetAtMs: number }>();

  constructor(
    private readonly slots: RateLimitSlotModel,
    private readonly maxKeys = 100_000,
  ) {}

  /** Numbers above `limit` are not claimed: such a call is over the limit anyway. */
  async hit(key: string, windowMs: number, nowMs: number, limit = Number.POSITIVE_INFINITY) {
    const windowStart = nowMs - (nowMs % windowMs);
    const resetAtMs = windowStart + windowMs;
    const id = `${key}@${windowStart}`;
    const window = this.windowOf(id, resetAtMs, nowMs);
    for (;;) {
      const n = ++window.top;
      if (n > limit) return { count: n, resetAtMs };
      try {
        await this.slots.collection.insertOne({ _id: `${id}#${n}`, expiresAt: new Date(resetAtMs) } as never);
        return { count: n, resetAtMs };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Another instance counted a call with n: try the next number not handed out here yet.
      }
    }
  }

  /** Removes the slots of ended windows (no TTL indexes on the embedded database). */
  async deleteExpired(now: Date): Promise<number> {
    const { deletedCount } = await this.slots.deleteMany({ expiresAt: { $lte: now } });
    return deletedCount;
  }

  private windowOf(id: string, resetAtMs: number, nowMs: number) {
    let window = this.windows.get(id);
    if (window) return window;
    if (this.windows.size >= this.maxKeys) {
      // Ended windows are useless; if that is not enough, the oldest entries go (a forgotten
      // window only costs inserts that find their number taken).
      for (const [w, s] of this.windows) if (s.resetAtMs <= nowMs) this.windows.delete(w);
      while (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    }
    window = { top: 0, resetAtMs };
    this.windows.set(id, window);
    return window;
  }
}
