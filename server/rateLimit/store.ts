/**
 * Where rate limit counters live: this process's memory (MemoryRateLimitStore; several instances
 * each count their own share), or MongoDB, shared by every instance (MongoRateLimitStore,
 * RATE_LIMIT_STORE=mongodb). Another shared store (Redis ...) implements this interface.
 */
export interface RateLimitStore {
  /**
   * Counts one hit for `key` in its current fixed window; returns the count so far and when the
   * window ends (epoch ms). `limit`, when given, lets a store skip work for hits beyond it: the
   * count it returns is then only known to be above the limit.
   */
  hit(key: string, windowMs: number, nowMs: number, limit?: number): Promise<{ count: number; resetAtMs: number }>;
}

/** Fixed windows in a Map; expired windows are swept as the map grows, so memory stays bounded. */
export class MemoryRateLimitStore implements RateLimitStore {
  private windows = new Map<string, { count: number; resetAtMs: number }>();

  constructor(private readonly maxKeys = 100_000) {}

  async hit(key: string, windowMs: number, nowMs: number) {
    let window = this.windows.get(key);
    if (!window || window.resetAtMs <= nowMs) {
      if (this.windows.size >= this.maxKeys) this.sweep(nowMs);
      window = { count: 0, resetAtMs: nowMs + windowMs };
      this.windows.set(key, window);
    }
    window.count++;
    return { count: window.count, resetAtMs: window.resetAtMs };
  }

  private sweep(nowMs: number) {
    for (const [key, w] of this.windows) if (w.resetAtMs <= nowMs) this.windows.delete(key);
    // Still full of live windows: drop the oldest rather than grow without bound.
    while (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
  }
}
