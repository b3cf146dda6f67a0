import type { UpdateProfileInput, UserOutput } from '../../shared';
import { withAvatarLock } from '../avatars/avatarLock';
import { deleteAvatar } from '../avatars/avatarStore';
import { AppError } from '../errors';
import type { Actor, PlatformDeps } from './platform';
import { toUserOutput, type StoredUser } from './users';

const userGone = () => new AppError('USER_NOT_FOUND', 'The user of this token no longer exists');

/**
 * user.updateProfile: nickname and/or avatar from the fill-in components (validated by the schema).
 * An avatarUrl elsewhere replaces the user's uploaded avatar, which is deleted then. One of this
 * server's avatar URLs must be the user's current one (what POST /avatar answered): it changes
 * nothing, where storing it as a plain URL would delete the very image it shows.
 */
export async function updateProfile(deps: PlatformDeps, actor: Actor, openId: string, input: UpdateProfileInput): Promise<UserOutput> {
  const nickName: Record<string, string> = input.nickName !== undefined ? { nickName: input.nickName } : {};
  const avatarUrl = input.avatarUrl;
  if (avatarUrl === undefined) return toUserOutput(await setProfile(deps, actor.userId, nickName), openId, deps.avatarUrls);

  return withAvatarLock(deps, actor.userId, async () => {
    const current = await deps.db.User.findById(actor.userId, { avatarId: 1 }).lean();
    if (!current) throw userGone();
    const ours = deps.avatarUrls.idOf(avatarUrl);
    if (ours !== null && ours !== current.avatarId) {
      const message = 'avatarUrl names an image of this server that is not your avatar: upload it with POST /avatar';
      throw new AppError('INVALID_INPUT', message, { issues: [{ path: ['avatarUrl'], message, code: 'custom' }] });
    }
    const replaced = ours === null ? current.avatarId : null;
    const user = await setProfile(deps, actor.userId, ours === null ? { ...nickName, avatarUrl, avatarId: null } : nickName);
    // Only a file this user uploaded: the owner is checked again where it is deleted.
    if (replaced) await deleteAvatar(deps.db, replaced, { ownerId: actor.userId });
    return toUserOutput(user, openId, deps.avatarUrls);
  });
}

async function setProfile(deps: PlatformDeps, userId: string, $set: Record<string, string | null>): Promise<StoredUser> {
  const user = await deps.users.update({ _id: userId, status: 'active' }, $set);
  if (!user) throw userGone();
  return user;
}
