import type { PlainProfileInput, UserOutput } from '../../shared';
import type { AvatarUrls } from '../avatars/avatarUrls';
import type { UserDoc, UserFields } from '../db/models/user';
import type { WeChatProfile } from '../wechat/userData';

type StoredUser = Pick<UserDoc, '_id'> & UserFields & { createdAt: Date; updatedAt: Date };

/**
 * The user as the API shows it: an explicit list of fields, so nothing secret can slip out.
 * `openId` is the user's openid in the app that asks (each app has its own).
 */
export function toUserOutput(user: StoredUser, openId: string, avatarUrls: AvatarUrls): UserOutput {
  return {
    id: String(user._id),
    openId,
    unionId: user.unionId ?? null,
    nickName: user.nickName ?? null,
    avatarUrl: user.avatarId ? avatarUrls.urlOf(user.avatarId) : (user.avatarUrl ?? null),
    gender: (user.gender ?? null) as UserOutput['gender'],
    language: user.language ?? null,
    city: user.city ?? null,
    province: user.province ?? null,
    country: user.country ?? null,
    status: user.status as UserOutput['status'],
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
    lastLoginAt: user.lastLoginAt ?? null,
    phone: user.phone
      ? { countryCode: user.phone.countryCode, purePhoneNumber: user.phone.purePhoneNumber, phoneNumber: user.phone.phoneNumber }
      : null,
  };
}

/**
 * Since 2021/2022 WeChat's user info is anonymous: nickname "微信用户" and a grey avatar. Those
 * placeholders must not overwrite a real nickname or avatar the user gave us.
 */
const ANONYMOUS_NICKNAME = '微信用户';

/** The $set for a profile: the verified WeChat profile, then the plain fill-in fields, which win. */
export function profileUpdate(weChat: WeChatProfile | null, plain: PlainProfileInput | undefined): Partial<UserFields> {
  const update: Partial<UserFields> = {};
  if (weChat) {
    for (const key of ['gender', 'language', 'city', 'province', 'country'] as const) {
      if (weChat[key] !== undefined && weChat[key] !== '') (update as Record<string, unknown>)[key] = weChat[key];
    }
    if (weChat.nickName && weChat.nickName !== ANONYMOUS_NICKNAME) {
      update.nickName = weChat.nickName;
      if (weChat.avatarUrl) update.avatarUrl = weChat.avatarUrl;
    }
  }
  if (plain) {
    update.nickName = plain.nickName;
    if (plain.avatarUrl) update.avatarUrl = plain.avatarUrl;
  }
  return update;
}

export type { StoredUser };
