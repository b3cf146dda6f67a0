import type { UpdateProfileInput, UserOutput } from '../../shared';
import { AppError } from '../errors';
import type { Actor, PlatformDeps } from './platform';
import { toUserOutput, type StoredUser } from './users';

/** user.updateProfile: nickname and/or avatar from the fill-in components (validated by the schema). */
export async function updateProfile(deps: PlatformDeps, actor: Actor, openId: string, input: UpdateProfileInput): Promise<UserOutput> {
  const $set: Record<string, string> = {};
  if (input.nickName !== undefined) $set.nickName = input.nickName;
  if (input.avatarUrl !== undefined) $set.avatarUrl = input.avatarUrl;
  const user = await deps.db.User.findOneAndUpdate({ _id: actor.userId, status: 'active' }, { $set }, { returnDocument: 'after' }).lean<StoredUser>();
  if (!user) throw new AppError('USER_NOT_FOUND', 'The user of this token no longer exists');
  deps.principals.invalidateUser(actor.userId);
  return toUserOutput(user, openId);
}
