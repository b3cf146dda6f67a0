import { describe, expect, it } from 'vitest';
import { createBoundedCache } from './boundedCache';

describe('createBoundedCache', () => {
  it('keeps at most maxEntries: the entry set longest ago goes first, and setting again makes an entry the newest', () => {
    const cache = createBoundedCache<string, number>({ maxEntries: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 3); // a is now newer than b
    cache.set('c', 4);
    expect([cache.get('a'), cache.get('b'), cache.get('c'), cache.size]).toEqual([3, undefined, 4, 2]);
  });

  it('an entry is fresh for ttlMs, or until the expiry it was set with, then forgotten', () => {
    let clock = 1_000;
    const cache = createBoundedCache<string, string>({ maxEntries: 10, ttlMs: 100, now: () => clock });
    cache.set('ttl', 'x');
    cache.set('own', 'y', 1_050);
    clock = 1_049;
    expect([cache.get('ttl'), cache.get('own')]).toEqual(['x', 'y']);
    clock = 1_050;
    expect([cache.get('ttl'), cache.get('own'), cache.size]).toEqual(['x', undefined, 1]);
    clock = 1_100;
    expect([cache.get('ttl'), cache.size]).toEqual([undefined, 0]);
  });

  it('with ttlMs <= 0 keeps nothing (caching switched off); delete and clear forget', () => {
    const off = createBoundedCache<string, number>({ maxEntries: 10, ttlMs: 0 });
    off.set('a', 1);
    expect([off.get('a'), off.size]).toEqual([undefined, 0]);
    const cache = createBoundedCache<string, number>({ maxEntries: 10 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.delete('a');
    expect([cache.get('a'), cache.get('b')]).toEqual([undefined, 2]);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
