import type { Database } from '../db/connection';
import { AppError } from '../errors';
import { claimOnce } from '../services/claims';

/** Longer than any upload may take (the request timeout), so a live holder never loses it. */
const LOCK_TTL_MS = 120_000;

/**
 * Runs `change` as the only change of this user's avatar in progress, on every instance: a claim
 * (an insert of a unique _id, the one atomic write FerretDB v1 has) is the lock. Its
 * findOneAndUpdate is a read and a separate write, so two simultaneous swaps could both "replace"
 * the same old avatar and leave one upload stored for nobody.
 *
 * A second change while one runs is refused (RATE_LIMITED, retry in a second) rather than queued:
 * this is also what bounds a user to one upload in flight besides the avatar they have.
 */
export async function withAvatarLock<T>(deps: { db: Database; now: () => Date }, userId: string, change: () => Promise<T>): Promise<T> {
  const key = `avatar-change:${userId}`;
  if (!(await claim(deps, key))) {
    throw new AppError('RATE_LIMITED', 'Another change of this avatar is in progress; try again in a second', { retryAfterS: 1 });
  }
  try {
    return await change();
  } finally {
    await deps.db.Claim.deleteOne({ _id: key });
  }
}

/** The lock, also when the one held is past its time (its holder died): that one is removed first. */
async function claim(deps: { db: Database; now: () => Date }, key: string): Promise<boolean> {
  const expiresAt = () => new Date(deps.now().getTime() + LOCK_TTL_MS);
  if (await claimOnce(deps.db, key, expiresAt())) return true;
  const held = await deps.db.Claim.findById(key).lean();
  if (held && held.expiresAt > deps.now()) return false;
  if (held) await deps.db.Claim.deleteOne({ _id: key, expiresAt: held.expiresAt });
  return claimOnce(deps.db, key, expiresAt());
}
