import type { UserOutput } from '../../shared';
import { withAvatarLock } from '../avatars/avatarLock';
import { deleteAvatar, saveAvatar } from '../avatars/avatarStore';
import { detectImageType } from '../avatars/imageType';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { PlatformDeps } from './platform';
import { toUserOutput, type StoredUser } from './users';

const userGone = () => new AppError('USER_NOT_FOUND', 'The user of this token no longer exists');

/**
 * POST /avatar: the uploaded image becomes the user's avatar, and the upload it replaces is
 * deleted. All of it under the avatar lock, reading the upload (`readUpload`) included: a user has
 * one stored avatar plus at most one upload in flight (a second one meanwhile is RATE_LIMITED).
 * The bytes must be a PNG, JPEG, GIF or WebP, judged by content, never by name or declared type.
 */
export async function uploadAvatar(
  deps: PlatformDeps,
  log: Logger,
  actor: { userId: string; openId: string },
  readUpload: () => Promise<Buffer>,
): Promise<{ avatarUrl: string; user: UserOutput }> {
  const { userId } = actor;
  const avatarUrl = await withAvatarLock(deps, userId, async () => {
    const bytes = await readUpload();
    const contentType = detectImageType(bytes);
    if (!contentType) throw new AppError('UNSUPPORTED_IMAGE', 'The file is not a PNG, JPEG, GIF or WebP image');
    const { id } = await saveAvatar(deps.db, { userId, contentType, bytes });
    await swapAvatar(deps, log, userId, id);
    return deps.avatarUrls.urlOf(id);
  });
  const user = await deps.users.get(userId);
  if (!user) throw userGone();
  return { avatarUrl, user: toUserOutput(user, actor.openId, deps.avatarUrls) };
}

/** Makes the stored image the user's avatar and deletes the upload it replaced. */
async function swapAvatar(deps: PlatformDeps, log: Logger, userId: string, id: string): Promise<void> {
  const { db } = deps;
  let before: StoredUser | null;
  try {
    before = await deps.users.update({ _id: userId, status: 'active' }, { avatarId: id, avatarUrl: null }, { returnDocument: 'before' });
  } catch (err) {
    await deleteAvatar(db, id).catch(() => undefined);
    throw err;
  }
  if (!before) {
    await deleteAvatar(db, id).catch(() => undefined);
    // Banned or deleted since the principal cache last looked.
    const exists = await db.User.exists({ _id: userId });
    throw exists ? new AppError('USER_BANNED', 'This account is banned') : userGone();
  }
  if (before.avatarId && before.avatarId !== id) {
    // Only a file this user uploaded: the owner is checked where it is deleted.
    await deleteAvatar(db, before.avatarId, { ownerId: userId }).catch((err: unknown) => log.warn({ err, userId }, 'could not delete the previous avatar'));
  }
}
