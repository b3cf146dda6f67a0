import type { Types } from 'mongoose';
import type { Database } from '../db/connection';
import { identityId } from '../db/models/identity';
import { isDuplicateKey } from '../errors';
import type { SecretBox } from '../secrets/secretBox';
import type { AppSession } from './wechatApps';

/**
 * Records a login of this user in this app: keeps the fresh session_key (sealed) for later
 * decryption and session checks. With a `userId`, the identity is created the first time; with
 * null, only an existing identity is updated. Returns the user the identity belongs to (an
 * existing identity keeps its user), or null when there was none to update.
 */
export async function recordIdentity(
  deps: { db: Database; box: SecretBox; now: () => Date },
  session: AppSession,
  userId: Types.ObjectId | string | null,
): Promise<Types.ObjectId | null> {
  const now = deps.now();
  const write = () =>
    deps.db.Identity.findOneAndUpdate(
      { _id: identityId(session.appId, session.openId) },
      {
        $set: {
          sessionKeyEnc: deps.box.seal(session.sessionKey),
          sessionKeyUpdatedAt: now,
          lastLoginAt: now,
          ...(session.unionId ? { unionId: session.unionId } : {}),
        },
        ...(userId ? { $setOnInsert: { appId: session.appId, openId: session.openId, userId } } : {}),
      },
      { upsert: userId !== null, returnDocument: 'after' },
    ).lean();
  // Two first logins of one identity at once: one upsert inserts, the other may hit the unique
  // _id; by then the document exists and a second try updates it.
  const identity = await write().catch((err: unknown) => {
    if (isDuplicateKey(err)) return write();
    throw err;
  });
  return identity?.userId ?? null;
}

/** A user's identity in an app (by its _id): its openid and its latest session_key (opened). */
export async function identityOf(
  deps: { db: Database; box: SecretBox },
  who: { userId: string; appId: string; openId: string },
): Promise<{ openId: string; sessionKey: string | null } | null> {
  const identity = await deps.db.Identity.findById(identityId(who.appId, who.openId)).lean();
  if (!identity || String(identity.userId) !== who.userId) return null;
  let sessionKey: string | null = null;
  try {
    sessionKey = identity.sessionKeyEnc ? deps.box.open(identity.sessionKeyEnc) : null;
  } catch {
    sessionKey = null; // sealed under a data key we no longer have
  }
  return { openId: identity.openId, sessionKey };
}
