/**
 * A Map with a bound on its size and, optionally, on the age of its entries: what every in-process
 * cache here needs so that memory stays bounded whatever the traffic. Past `maxEntries`, the entry
 * set longest ago goes first (Map order is insertion order; `set` re-inserts). An entry is fresh
 * until its expiry: `set`'s `expiresAtMs`, else `ttlMs` after it was set, else for ever; `get`
 * forgets an entry past it. With `ttlMs <= 0` (caching switched off) nothing is kept.
 */
export interface BoundedCache<K, V> {
  /** The value, while fresh. */
  get(key: K): V | undefined;
  set(key: K, value: V, expiresAtMs?: number): void;
  delete(key: K): void;
  clear(): void;
  readonly size: number;
}

export interface BoundedCacheOptions {
  maxEntries: number;
  ttlMs?: number;
  /** Epoch ms; Date.now by default. */
  now?: () => number;
}

export function createBoundedCache<K, V>(opts: BoundedCacheOptions): BoundedCache<K, V> {
  const { maxEntries, ttlMs } = opts;
  const now = opts.now ?? Date.now;
  const entries = new Map<K, { value: V; expiresAtMs: number }>();
  const off = ttlMs !== undefined && ttlMs <= 0;
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (now() < entry.expiresAtMs) return entry.value;
      entries.delete(key);
      return undefined;
    },
    set(key, value, expiresAtMs) {
      if (off) return;
      entries.delete(key); // re-insert: Map order is the eviction order
      entries.set(key, { value, expiresAtMs: expiresAtMs ?? (ttlMs === undefined ? Infinity : now() + ttlMs) });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    delete: (key) => void entries.delete(key),
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}
