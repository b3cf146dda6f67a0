import type { Database } from '../db/connection';
import { isDuplicateKey } from '../errors';
import { createInsertBatcher, type InsertBatcher } from '../infra/perf/insertBatcher';

interface ClaimDocument {
  _id: string;
  expiresAt: Date;
  by: string | null;
}

// Claims of one database go in batches (every refresh makes one): one insertMany for the claims
// of a moment, each caller still told whether its own was first.
const batchers = new WeakMap<Database, InsertBatcher<ClaimDocument>>();
function insertsOf(db: Database): InsertBatcher<ClaimDocument> {
  let inserts = batchers.get(db);
  if (!inserts) {
    inserts = createInsertBatcher<ClaimDocument>(() => db.Claim.collection);
    batchers.set(db, inserts);
  }
  return inserts;
}

/** True for the first caller to claim `key`, false for every other, even concurrent ones. */
export async function claimOnce(db: Database, key: string, expiresAt: Date, by: string | null = null): Promise<boolean> {
  try {
    await insertsOf(db).insert({ _id: key, expiresAt, by });
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

export async function deleteExpiredClaims(deps: { db: Database; now: () => Date }): Promise<number> {
  const { deletedCount } = await deps.db.Claim.deleteMany({ expiresAt: { $lte: deps.now() } });
  return deletedCount;
}
