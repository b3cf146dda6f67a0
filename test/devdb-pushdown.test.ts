/**
 * The embedded database (devdb: FerretDB v1 patched, see docs/internals/embedded-database.md)
 * answers `{ _id: { $in: [...] } }` and string ranges on `_id` in SQL. Whatever it pushes down,
 * the documents found must be exactly those MongoDB would find: here every filter's result is
 * compared with a reference computed in JavaScript (MongoDB's rules: `$in` matches equal values
 * of the same type; a string bound matches strings only, compared byte by byte in UTF-8), and with
 * the same filter wrapped in `$and`, which devdb never pushes down. Against a real MongoDB
 * (MONGODB_URI) the same equalities hold; the explain checks are devdb's only.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import mongoose, { mongo } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const ON_DEVDB = !process.env.MONGODB_URI;

type Id = string | number | mongo.ObjectId;
interface Doc {
  _id: Id;
  kind: string;
}

const USER = '65a1b2c3d4e5f60718293a4b';
const OTHER_USER = '65a1b2c3d4e5f60718293a4c';

/** Strings that JSON escapes or SQLite could order differently from MongoDB, and prefixes of each other. */
const STRING_IDS = [
  '',
  ' ',
  '!',
  'a',
  'a ',
  'a!',
  'ab',
  'abc',
  'abd',
  'a"b',
  'a\\b',
  'a\\',
  'a<b',
  'a>b',
  'a&b',
  'a/b',
  'a\tb',
  'a\nb',
  'A',
  'z',
  '~',
  'é',
  'éa',
  'e\u0301',
  '\u007f',
  '\u0080',
  '\u2028',
  'a\u2028b',
  '\u2029',
  '中文',
  '😀',
  '\uffff',
  USER,
  `${USER}:`,
  `${USER}:s1`,
  `${USER}:s2`,
  `${USER}:s2x`,
  `${USER}.s1`,
  `${USER}9`,
  `${USER};`,
  `${USER};x`,
  `${OTHER_USER}:s1`,
];
/**
 * None spells the hex of a stored string: FerretDB's SQLite backend cannot store both (its unique
 * `_id` index sees the same JSON text), so a query for ObjectId(USER) shows instead that devdb's
 * SQL finding the string USER does not make it an answer.
 */
const OBJECT_IDS = [new mongo.ObjectId(OTHER_USER), new mongo.ObjectId('000000000000000000000001'), new mongo.ObjectId('ffffffffffffffffffffffff')];
const NUMBER_IDS = [0, 1, -3, 2.5, 1e6];
const ALL_IDS: Id[] = [...STRING_IDS, ...OBJECT_IDS, ...NUMBER_IDS];

/** A sortable name for an id that keeps its type apart: "s:1" and "n:1" are different ids. */
const idKey = (id: Id) => (typeof id === 'string' ? `s:${JSON.stringify(id)}` : typeof id === 'number' ? `n:${id}` : `o:${id.toHexString()}`);
const keys = (ids: Id[]) => ids.map(idKey).sort();

const utf8Compare = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

type RangeOp = '$gt' | '$gte' | '$lt' | '$lte';
type Range = Partial<Record<RangeOp, string>>;

/** MongoDB's answer to { _id: range } with string bounds: strings only, byte-wise. */
function referenceRange(range: Range): Id[] {
  return STRING_IDS.filter((id) =>
    Object.entries(range).every(([op, bound]) => {
      const c = utf8Compare(id, bound);
      return op === '$gt' ? c > 0 : op === '$gte' ? c >= 0 : op === '$lt' ? c < 0 : c <= 0;
    }),
  );
}

/** MongoDB's answer to { _id: { $in: values } }: equal value, same type. */
function referenceIn(values: Id[]): Id[] {
  const wanted = new Set(values.map(idKey));
  return ALL_IDS.filter((id) => wanted.has(idKey(id)));
}

let client: mongo.MongoClient;
let collection: mongo.Collection<Doc>;
let dbName: string;

beforeAll(async () => {
  dbName = `pushdown_${randomBytes(4).toString('hex')}`;
  client = await new mongoose.mongo.MongoClient(inject('mongodbUri')).connect();
  collection = client.db(dbName).collection<Doc>('mixed_ids');
  await collection.insertMany(ALL_IDS.map((_id) => ({ _id, kind: typeof _id })));
});

afterAll(async () => {
  await client?.db(dbName).dropDatabase();
  await client?.close();
});

async function idsFound(filter: mongo.Filter<Doc>): Promise<string[]> {
  return keys((await collection.find(filter, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
}

/** What the filter finds, and what the same filter finds where devdb cannot push it down. */
async function foundBothWays(idCondition: unknown) {
  const filter = { _id: idCondition } as mongo.Filter<Doc>;
  return { direct: await idsFound(filter), wrapped: await idsFound({ $and: [filter] }) };
}

async function filterPushdown(filter: mongo.Filter<Doc>): Promise<boolean> {
  const explained = (await collection.find(filter).explain()) as { filterPushdown?: unknown };
  return explained.filterPushdown === true;
}

const idValue = fc.constantFrom<Id>(...STRING_IDS, ...OBJECT_IDS);
const stringBound = fc.oneof(fc.constantFrom(...STRING_IDS), fc.string({ maxLength: 4 }), fc.string({ unit: 'grapheme', maxLength: 3 }));

describe('devdb pushes { _id: { $in } } down and finds what MongoDB finds', () => {
  it('the stored ids are all there, of each kind', async () => {
    expect(await idsFound({})).toEqual(keys(ALL_IDS));
  });

  it('for many lists of strings and ObjectIDs: the same documents as the reference and as the filter not pushed down', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(idValue, fc.string({ maxLength: 4 })), { minLength: 1, maxLength: 20 }), async (values) => {
        const { direct, wrapped } = await foundBothWays({ $in: values });
        expect(direct).toEqual(keys(referenceIn(values)));
        expect(wrapped).toEqual(direct);
      }),
      { numRuns: 60, seed: 13 },
    );
  });

  it('an ObjectID and the string of its hex are different ids', async () => {
    expect(await idsFound({ _id: { $in: [USER] } })).toEqual(keys([USER]));
    expect(await idsFound({ _id: { $in: [new mongo.ObjectId(USER)] } })).toEqual([]);
    expect(await idsFound({ _id: { $in: [new mongo.ObjectId(USER), new mongo.ObjectId(OTHER_USER)] } })).toEqual(keys([new mongo.ObjectId(OTHER_USER)]));
    expect(await idsFound({ _id: { $in: [OTHER_USER] } })).toEqual([]);
  });

  it('lists it does not push down (a number, empty, more than 1000 values) still find the right documents', async () => {
    for (const values of [[1, 'a'], [], [2.5], [...Array.from({ length: 1000 }, (_, i) => `none${i}`), 'abc']] as Id[][]) {
      const { direct, wrapped } = await foundBothWays({ $in: values });
      expect(direct).toEqual(keys(referenceIn(values)));
      expect(wrapped).toEqual(direct);
    }
  });

  it('deleteMany by $in deletes exactly the listed documents', async () => {
    const scratch = client.db(dbName).collection<Doc>('delete_in');
    await scratch.insertMany(STRING_IDS.map((_id) => ({ _id, kind: 'string' })));
    const gone = ['a"b', 'a\\b', '\u2028', `${USER}.s1`, 'not there'];
    const { deletedCount } = await scratch.deleteMany({ _id: { $in: gone } });
    expect(deletedCount).toBe(4);
    const left = (await scratch.find({}).toArray()).map((d) => d._id);
    expect(keys(left)).toEqual(keys(STRING_IDS.filter((id) => !gone.includes(id))));
  });

  it.runIf(ON_DEVDB)('explain: lists of 1..1000 strings and ObjectIDs are pushed down, other lists are not', async () => {
    expect(await filterPushdown({ _id: { $in: ['a'] } })).toBe(true);
    expect(await filterPushdown({ _id: { $in: ['a', 'a"b', new mongo.ObjectId(USER)] } })).toBe(true);
    expect(await filterPushdown({ _id: { $in: Array.from({ length: 1000 }, (_, i) => `id${i}`) } })).toBe(true);

    expect(await filterPushdown({ _id: { $in: Array.from({ length: 1001 }, (_, i) => `id${i}`) } })).toBe(false);
    expect(await filterPushdown({ _id: { $in: [] } })).toBe(false);
    expect(await filterPushdown({ _id: { $in: ['a', 1] } })).toBe(false);
    expect(await filterPushdown({ _id: { $in: ['a'], $ne: 'b' } })).toBe(false);
    expect(await filterPushdown({ $and: [{ _id: { $in: ['a'] } }] })).toBe(false);
    expect(await filterPushdown({ _id: { $in: ['a'] }, kind: 'string' })).toBe(false);
    // what FerretDB pushed down before: the equality
    expect(await filterPushdown({ _id: 'a"b' })).toBe(true);
  });
});

describe('devdb pushes string ranges on _id down and finds what MongoDB finds', () => {
  it('for many ranges (either bound or both, open or closed): the same documents as the reference and as the filter not pushed down', async () => {
    const range = fc
      .record({
        lower: fc.option(fc.tuple(fc.constantFrom<RangeOp>('$gt', '$gte'), stringBound)),
        upper: fc.option(fc.tuple(fc.constantFrom<RangeOp>('$lt', '$lte'), stringBound)),
      })
      .filter(({ lower, upper }) => lower !== null || upper !== null)
      .map(({ lower, upper }) => Object.fromEntries([lower, upper].filter((b) => b !== null)) as Range);
    await fc.assert(
      fc.asyncProperty(range, async (r) => {
        const { direct, wrapped } = await foundBothWays(r);
        expect(direct).toEqual(keys(referenceRange(r)));
        expect(wrapped).toEqual(direct);
      }),
      { numRuns: 80, seed: 13 },
    );
  });

  it("a user's session references (server/services/sessionLists.ts): _id from '<userIdHex>:' up to '<userIdHex>;'", async () => {
    const { direct, wrapped } = await foundBothWays({ $gte: `${USER}:`, $lt: `${USER};` });
    expect(direct).toEqual(keys([`${USER}:`, `${USER}:s1`, `${USER}:s2`, `${USER}:s2x`]));
    expect(wrapped).toEqual(direct);
  });

  it('every bound pair drawn from the stored strings', async () => {
    for (const lower of STRING_IDS) {
      const upper = STRING_IDS[(STRING_IDS.indexOf(lower) * 7 + 3) % STRING_IDS.length]!;
      for (const r of [{ $gte: lower, $lte: upper }, { $gt: lower, $lt: upper }, { $gte: lower }, { $lt: lower }] as Range[]) {
        expect(await idsFound({ _id: r })).toEqual(keys(referenceRange(r)));
      }
    }
  });

  it.runIf(ON_DEVDB)('explain: string bounds are pushed down, anything else is not', async () => {
    expect(await filterPushdown({ _id: { $gte: `${USER}:`, $lt: `${USER};` } })).toBe(true);
    expect(await filterPushdown({ _id: { $gt: 'a' } })).toBe(true);
    expect(await filterPushdown({ _id: { $lte: 'a"b' } })).toBe(true);
    expect(await filterPushdown({ _id: { $lt: 'z', $gt: 'a' } })).toBe(true);

    expect(await filterPushdown({ _id: { $gte: 1 } })).toBe(false);
    expect(await filterPushdown({ _id: { $gte: 'a', $lt: new mongo.ObjectId(USER) } })).toBe(false);
    expect(await filterPushdown({ _id: { $gt: 'a', $gte: 'b' } })).toBe(false);
    expect(await filterPushdown({ _id: { $gte: 'a', $ne: 'b' } })).toBe(false);
    expect(await filterPushdown({ $and: [{ _id: { $gte: 'a' } }] })).toBe(false);
  });

  it.runIf(ON_DEVDB)('the range is answered from the index devdb keeps on the _id text', async () => {
    // devdb adds its indexes to a new collection within half a second; a real query first, as
    // SQLite's EXPLAIN alone does not notice a schema changed by another connection.
    const range = { _id: { $gte: `${USER}:`, $lt: `${USER};` } };
    let plan = '';
    for (let tries = 0; tries < 40 && !plan.includes('USING INDEX'); tries++) {
      if (tries) await new Promise((resolve) => setTimeout(resolve, 250));
      await collection.find(range).toArray();
      plan = JSON.stringify(((await collection.find(range).explain()) as { queryPlanner?: unknown }).queryPlanner);
    }
    expect(plan).toMatch(/USING INDEX \S+__id_text/);
  });
});
