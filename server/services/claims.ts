import type { Database } from '../db/connection';
import { isDuplicateKey } from '../errors';

/** True for the first caller to claim `key`, false for every other, even concurrent ones. */
export async function claimOnce(db: Database, key: string, expiresAt: Date, by: string | null = null): Promise<boolean> {
  try {
    await db.Claim.create({ _id: key, expiresAt, by });
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
