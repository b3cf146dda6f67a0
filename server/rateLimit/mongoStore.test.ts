import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rateLimitSlotModel } from '../db/models/rateLimitSlot';
import { MongoRateLimitStore } from './mongoStore';

const WINDOW_MS = 60_000;
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0); // the start of a window

describe('MongoRateLimitStore on the real database', () => {
  const connections: Connection[] = [];
  const dbName = `ratelimit_store_${randomBytes(4).toString('hex')}`;
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) connections.push(await mongoose.createConnection(inject('mongodbUri'), { dbName }).asPromise());
    await rateLimitSlotModel(connections[0]!).init();
  });
  afterAll(async () => {
    await connections[0]!.dropDatabase();
    await Promise.all(connections.map((c) => c.close()));
  });
  /** Three stores, as three instances have, each with its own connection. */
  const stores = () => connections.map((c) => new MongoRateLimitStore(rateLimitSlotModel(c)));

  it('counts 90 simultaneous hits from three instances with no number given twice', async () => {
    const [a, b, c] = stores();
    const all = [a!, b!, c!];
    const results = await Promise.all(Array.from({ length: 90 }, (_, i) => all[i % 3]!.hit('ip:1.2.3.4', WINDOW_MS, T0 + 10, 1000)));
    const counts = results.map((r) => r.count).sort((x, y) => x - y);
    expect(counts).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
    expect(new Set(results.map((r) => r.resetAtMs))).toEqual(new Set([T0 + WINDOW_MS]));
  });

  it('lets exactly `limit` hits through, and stops writing once the window is full', async () => {
    const [a, b] = stores();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a! : b!).hit('openid:o_x', WINDOW_MS, T0 + 20, 10)));
    expect(results.filter((r) => r.count <= 10)).toHaveLength(10);
    const slots = rateLimitSlotModel(connections[0]!);
    expect(await slots.countDocuments({ _id: { $regex: '^openid:o_x@' } })).toBe(10);
  });

  it('starts a new window at the next minute, and the cleanup removes ended windows only', async () => {
    const [a] = stores();
    await a!.hit('ip:5.6.7.8', WINDOW_MS, T0 + 59_000);
    expect((await a!.hit('ip:5.6.7.8', WINDOW_MS, T0 + 59_500)).count).toBe(2);
    expect(await a!.hit('ip:5.6.7.8', WINDOW_MS, T0 + 60_000)).toEqual({ count: 1, resetAtMs: T0 + 2 * WINDOW_MS });
    const removed = await a!.deleteExpired(new Date(T0 + 60_000));
    expect(removed).toBeGreaterThanOrEqual(2 + 90 + 10); // every slot of the first window
    const slots = rateLimitSlotModel(connections[0]!);
    expect(await slots.countDocuments({})).toBe(1);
  });
});
