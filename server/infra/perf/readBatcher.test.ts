import { randomBytes } from 'node:crypto';
import mongoose, { mongo, Types, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createReadBatcher } from './readBatcher';

let conn: Connection;
beforeAll(async () => {
  conn = await mongoose.createConnection(inject('mongodbUri'), { dbName: `reads_${randomBytes(4).toString('hex')}` }).asPromise();
});
afterAll(() => conn.close());

interface Doc {
  _id: string | Types.ObjectId;
  n: number;
}

/** The collection, counting the finds the batcher sends and the ids in each. */
function counted(name: string) {
  const collection = conn.collection<Doc>(name) as unknown as mongo.Collection;
  const finds: number[] = [];
  const view = () =>
    Object.assign(Object.create(collection), {
      find: (filter: { _id: { $in: unknown[] } | unknown }, opts: object) => {
        const ids = filter._id as { $in?: unknown[] };
        finds.push(Array.isArray(ids.$in) ? ids.$in.length : 1);
        return collection.find(filter as mongo.Filter<mongo.Document>, opts);
      },
    }) as mongo.Collection;
  return { collection, finds, view };
}

describe('read batcher (reads by _id, many to a round trip)', () => {
  it('answers every caller with its own document or null, reading the ids of one turn together', async () => {
    const { collection, finds, view } = counted('batched');
    await collection.insertMany(Array.from({ length: 100 }, (_, n) => ({ _id: `d${n}`, n })) as never[]);
    const reads = createReadBatcher<Doc>(view);
    const ids = [...Array.from({ length: 100 }, (_, n) => `d${n}`), 'missing-1', 'missing-2'];
    const docs = await Promise.all(ids.map((id) => reads.byId(id)));
    expect(docs.slice(0, 100).map((d) => d?.n)).toEqual(Array.from({ length: 100 }, (_, n) => n));
    expect(docs.slice(100)).toEqual([null, null]);
    // All asked for in one turn: one find.
    expect(finds).toEqual([102]);
  });

  it('one read for callers asking for the same document; ObjectIds and strings keep apart', async () => {
    const { collection, finds, view } = counted('same');
    const oid = new Types.ObjectId();
    await collection.insertMany([{ _id: oid, n: 1 }, { _id: 'plain', n: 2 }] as never[]);
    const reads = createReadBatcher<Doc>(view);
    const [a, b, c] = await Promise.all([reads.byId(oid), reads.byId(new Types.ObjectId(String(oid))), reads.byId('plain')]);
    expect([a?.n, b?.n, c?.n]).toEqual([1, 1, 2]);
    expect(finds).toEqual([2]);
  });

  it('ids asked for while a find is in flight go together in the next one', async () => {
    const { collection, finds, view } = counted('grouped');
    await collection.insertMany(Array.from({ length: 10 }, (_, n) => ({ _id: `d${n}`, n })) as never[]);
    // Each find takes 30 ms to answer: the database is busy.
    const slow = () =>
      Object.assign(Object.create(view()), {
        find: (filter: never, opts: object) => {
          const cursor = view().find(filter, opts);
          return { toArray: () => new Promise((r) => setTimeout(r, 30)).then(() => cursor.toArray()) };
        },
      }) as mongo.Collection;
    const reads = createReadBatcher<Doc>(slow);
    const first = reads.byId('d0');
    const later: Promise<Doc | null>[] = [];
    // Three more turns while the first find is in flight, each asking for other ids.
    for (const ids of [['d1', 'd2'], ['d3'], ['d4', 'd1']]) {
      await new Promise((r) => setImmediate(r));
      later.push(...ids.map((id) => reads.byId(id)));
    }
    const docs = await Promise.all([first, ...later]);
    expect(docs.map((d) => d?.n)).toEqual([0, 1, 2, 3, 4, 1]);
    expect(finds).toEqual([1, 4]);
  });

  it('splits a large turn into finds of at most 256 ids', async () => {
    const { collection, finds, view } = counted('large');
    await collection.insertMany(Array.from({ length: 600 }, (_, n) => ({ _id: `d${n}`, n })) as never[]);
    const reads = createReadBatcher<Doc>(view);
    const docs = await Promise.all(Array.from({ length: 600 }, (_, n) => reads.byId(`d${n}`)));
    expect(docs.every((d, n) => d?.n === n)).toBe(true);
    expect(finds).toEqual([256, 256, 88]);
  });

  it('reads what was written before it was asked for, and fails every caller of a failed find', async () => {
    const { collection, view } = counted('fresh');
    const reads = createReadBatcher<Doc>(view);
    await collection.insertOne({ _id: 'late', n: 1 } as never);
    expect((await reads.byId('late'))?.n).toBe(1);
    await collection.updateOne({ _id: 'late' as never }, { $set: { n: 2 } });
    expect((await reads.byId('late'))?.n).toBe(2);

    const broken = createReadBatcher<Doc>(() => {
      throw new Error('no database');
    });
    const results = await Promise.allSettled([broken.byId('a'), broken.byId('b')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
