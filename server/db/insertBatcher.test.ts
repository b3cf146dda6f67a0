import { randomBytes } from 'node:crypto';
import mongoose, { mongo, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isDuplicateKey } from '../errors';
import { createInsertBatcher } from './insertBatcher';

let conn: Connection;
beforeAll(async () => {
  conn = await mongoose.createConnection(inject('mongodbUri'), { dbName: `batcher_${randomBytes(4).toString('hex')}` }).asPromise();
});
afterAll(() => conn.close());

interface Doc {
  _id: string;
  n: number;
}

describe('insert batcher (group commit)', () => {
  it('inserts every document, many to a round trip, and resolves each caller once its document is stored', async () => {
    const collection = conn.collection<Doc>('batched') as unknown as mongo.Collection;
    const batches: number[] = [];
    const counting = () => {
      const real = collection.insertMany.bind(collection);
      return Object.assign(Object.create(collection), {
        insertMany: (docs: mongo.Document[], opts: object) => {
          batches.push(docs.length);
          return real(docs, opts);
        },
      });
    };
    const batcher = createInsertBatcher<Doc>(counting);
    await Promise.all(Array.from({ length: 200 }, (_, n) => batcher.insert({ _id: `d${n}`, n })));
    expect(await collection.countDocuments()).toBe(200);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(200);
    // The first goes alone; those asked for while it was written share the next round trips.
    expect(batches.length).toBeLessThan(20);
    expect(Math.max(...batches)).toBeGreaterThan(10);
  });

  it('a document that fails fails its own caller only; the rest of the batch is stored', async () => {
    const collection = conn.collection<Doc>('partial') as unknown as mongo.Collection;
    await collection.insertOne({ _id: 'taken' as never, n: 0 });
    const batcher = createInsertBatcher<Doc>(() => collection);
    const results = await Promise.allSettled([
      batcher.insert({ _id: 'a', n: 1 }),
      batcher.insert({ _id: 'b', n: 2 }),
      batcher.insert({ _id: 'taken', n: 3 }),
      batcher.insert({ _id: 'c', n: 4 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(isDuplicateKey((results[2] as PromiseRejectedResult).reason)).toBe(true);
    expect((await collection.find({}).sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual(['a', 'b', 'c', 'taken']);
  });

  it('when the database fails the whole batch, every caller gets the error, and the next batch goes through', async () => {
    const collection = conn.collection<Doc>('failing') as unknown as mongo.Collection;
    let fail = true;
    const flaky = () =>
      Object.assign(Object.create(collection), {
        insertMany: (docs: mongo.Document[], opts: object) => (fail ? Promise.reject(new Error('connection lost')) : collection.insertMany(docs, opts)),
      });
    const batcher = createInsertBatcher<Doc>(flaky);
    const failed = await Promise.allSettled([batcher.insert({ _id: 'x', n: 1 }), batcher.insert({ _id: 'y', n: 2 })]);
    expect(failed.map((r) => r.status === 'rejected' && (r.reason as Error).message)).toEqual(['connection lost', 'connection lost']);
    fail = false;
    await batcher.insert({ _id: 'z', n: 3 });
    expect((await collection.find({}).toArray()).map((d) => d._id)).toEqual(['z']);
  });
});
