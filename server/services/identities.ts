import type { Types } from 'mongoose';
import type { Database } from '../db/connection';
import { identityId } from '../db/models/identity';
import { isDuplicateKey } from '../errors';
import { createBoundedCache } from '../infra/perf/boundedCache';
import type { SecretBox } from '../secrets/secretBox';
import { latestSessionKeyEnc } from './sessions';
import type { AppSession } from './wechatApps';

/**
 * Identities (appId:openId → user) never change once made, so this process remembers them: a
 * returning login finds its user without a database round trip. Bounded; the oldest go first.
 * A deleted user's identity is forgotten where the login finds the user gone.
 */
export interface IdentityCache {
  get(id: string): string | undefined;
  set(id: string, userId: string): void;
  delete(id: string): void;
}

const MAX_IDENTITIES = 200_000;

export function createIdentityCache(): IdentityCache {
  return createBoundedCache<string, string>({ maxEntries: MAX_IDENTITIES });
}

/** The user of this WeChat user in this app, if they have an identity there. */
export async function userIdOfIdentity(deps: { db: Database; identities: IdentityCache }, session: AppSession): Promise<string | null> {
  const id = identityId(session.appId, session.openId);
  const known = deps.identities.get(id);
  if (known) return known;
  const identity = await deps.db.Identity.findById(id, { userId: 1 }).lean();
  if (!identity) return null;
  deps.identities.set(id, String(identity.userId));
  return String(identity.userId);
}

/**
 * Makes this user's identity in this app, unless it exists. Two first logins of one identity at
 * once: one insert wins, the other hits the unique _id and finds the winner's user. Returns the
 * user the identity belongs to.
 */
export async function recordIdentity(
  deps: { db: Database; identities: IdentityCache },
  session: AppSession,
  userId: Types.ObjectId | string,
): Promise<string> {
  const id = identityId(session.appId, session.openId);
  const known = deps.identities.get(id);
  if (known) return known;
  try {
    await deps.db.Identity.create({ _id: id, appId: session.appId, openId: session.openId, userId, unionId: session.unionId ?? null });
    deps.identities.set(id, String(userId));
    return String(userId);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const winner = await userIdOfIdentity(deps, session);
    if (!winner) throw err;
    return winner;
  }
}

/**
 * The session_key of this user's latest login in this app (opened), or null: when the identity is
 * not theirs, no login kept one, or it was sealed under a data key we no longer have.
 */
export async function storedSessionKey(deps: { db: Database; box: SecretBox; now: () => Date }, who: { userId: string; appId: string; openId: string }): Promise<string | null> {
  const identity = await deps.db.Identity.findById(identityId(who.appId, who.openId), { userId: 1 }).lean();
  if (!identity || String(identity.userId) !== who.userId) return null;
  const sealed = await latestSessionKeyEnc(deps, who);
  try {
    return sealed ? deps.box.open(sealed) : null;
  } catch {
    return null;
  }
}
