import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo } from 'node:net';
import mongoose, { mongo, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isDatabaseUnavailable, isDuplicateKey } from '../../errors';
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

  it('a database that cannot be reached fails every caller with an error recognised as an outage (503), not a bug', async () => {
    const client = new mongo.MongoClient('mongodb://127.0.0.1:1/', { serverSelectionTimeoutMS: 300, connectTimeoutMS: 300 });
    try {
      const batcher = createInsertBatcher<Doc>(() => client.db('x').collection('unreachable'));
      const results = await Promise.allSettled([batcher.insert({ _id: 'p', n: 1 }), batcher.insert({ _id: 'q', n: 2 })]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect(isDatabaseUnavailable((r as PromiseRejectedResult).reason)).toBe(true);
      }
    } finally {
      await client.close();
    }
  });

  it('a connection lost in the middle of a batch: the callers get the network error itself, recognised as an outage', async () => {
    // A TCP relay to the database that, once told to, cuts every connection as soon as a command arrives.
    const target = new URL(inject('mongodbUri'));
    let cut = false;
    const relay = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      client.on('data', (chunk) => (cut ? (client.destroy(), upstream.destroy()) : upstream.write(chunk)));
      upstream.on('data', (chunk) => client.write(chunk));
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const client = new mongo.MongoClient(`mongodb://127.0.0.1:${(relay.address() as AddressInfo).port}/`, {
      serverSelectionTimeoutMS: 1000,
      retryWrites: false,
    });
    try {
      const batcher = createInsertBatcher<Doc>(() => client.db(`relay_${randomBytes(3).toString('hex')}`).collection('cut'));
      await batcher.insert({ _id: 'before', n: 0 }); // the connection is up
      cut = true;
      const results = await Promise.allSettled([batcher.insert({ _id: 'r', n: 1 }), batcher.insert({ _id: 's', n: 2 })]);
      for (const r of results) {
        const reason = (r as PromiseRejectedResult).reason as Error;
        expect(r.status).toBe('rejected');
        expect(reason.name).not.toBe('MongoBulkWriteError');
        expect(isDatabaseUnavailable(reason)).toBe(true);
      }
    } finally {
      await client.close(true);
      relay.close();
    }
  });
});
