import type { BindPhoneInput, UserOutput } from '../../shared';
import { sessionKeyUnavailable } from '../cloudHosting/gatewaySession';
import { phoneFromCloudID } from '../cloudHosting/openData';
import { AppError, isDuplicateKey } from '../errors';
import { checkWatermark, decryptWeChatData } from '../wechat/dataCrypto';
import { getPhoneNumber, legacyPhoneData } from '../wechat/phoneNumber';
import { encryptedPair } from '../wechat/userData';
import { storedSessionKey } from './identities';
import type { Actor, PlatformDeps } from './platform';
import { checkStoredSessionKey } from './sessionCheck';
import { toUserOutput } from './users';

interface Phone {
  countryCode: string;
  purePhoneNumber: string;
  phoneNumber: string;
}

/** The key a number is bound under: one number, one user. */
const bindingKey = (p: { countryCode: string; purePhoneNumber: string }) => `+${p.countryCode} ${p.purePhoneNumber}`;

/** The current getPhoneNumber button: its one-time code, redeemed with the server access token. */
async function phoneFromCode(deps: PlatformDeps, actor: Actor, code: string): Promise<Phone> {
  const app = deps.apps.resolve(actor.appId);
  const phone = await deps.serverApi.call(actor.appId, (credential) => getPhoneNumber(app, credential, code, deps.http));
  if (phone.watermark.appid !== actor.appId) throw new AppError('WATERMARK_APPID_MISMATCH', 'The phone number was issued to another mini program');
  return phone;
}

/**
 * The legacy form: encrypted with the session_key of the user's last wx.login. When it does not
 * decrypt, WeChat is asked whether that key is still current, so the app learns whether to call
 * wx.login again (SESSION_KEY_STALE) or whether the data itself is bad.
 */
async function phoneFromEncryptedData(deps: PlatformDeps, actor: Actor, { encryptedData, iv }: { encryptedData: string; iv: string }): Promise<Phone> {
  if (deps.cloudHosting) throw sessionKeyUnavailable();
  const sessionKey = await storedSessionKey(deps, actor);
  if (!sessionKey) throw staleKey();
  let data: Record<string, unknown>;
  try {
    data = decryptWeChatData(sessionKey, encryptedData, iv);
  } catch (err) {
    if (err instanceof AppError && err.reason === 'ENCRYPTED_DATA_INVALID') {
      const stillValid = await checkStoredSessionKey(deps, actor).then((r) => r.valid, () => true);
      if (!stillValid) throw staleKey();
    }
    throw err;
  }
  checkWatermark(data, { appId: actor.appId, maxAgeS: deps.watermarkMaxAgeS, nowS: Math.floor(deps.now().getTime() / 1000) });
  const parsed = legacyPhoneData.safeParse(data);
  if (!parsed.success) throw new AppError('ENCRYPTED_DATA_INVALID', 'The decrypted data is not a phone number');
  return parsed.data;
}

/** The number of any form. The schema lets encryptedData or iv come alone: encryptedPair refuses that with its reason. */
async function phoneOf(deps: PlatformDeps, actor: Actor, input: BindPhoneInput): Promise<Phone> {
  if (input.cloudID !== undefined) return phoneFromCloudID(deps, actor, input.cloudID);
  if (input.code !== undefined) return phoneFromCode(deps, actor, input.code);
  const encrypted = encryptedPair(input);
  if (!encrypted) throw new AppError('INVALID_INPUT', 'Send either code, or encryptedData with iv');
  return phoneFromEncryptedData(deps, actor, encrypted);
}

const staleKey = () =>
  new AppError('SESSION_KEY_STALE', 'The login session with WeChat has changed: call wx.login and log in, then get the phone number again');

/** user.bindPhone: stores the country code and number; a number already bound to another user is a CONFLICT. */
export async function bindPhone(deps: PlatformDeps, actor: Actor, input: BindPhoneInput): Promise<UserOutput> {
  const phone = await phoneOf(deps, actor, input);
  const key = bindingKey(phone);

  try {
    await deps.db.PhoneBinding.create({ _id: key, userId: actor.userId });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const holder = await deps.db.PhoneBinding.findById(key).lean();
    if (String(holder?.userId) !== actor.userId) {
      throw new AppError('PHONE_ALREADY_BOUND', 'This phone number is already bound to another account');
    }
  }

  const before = await deps.db.User.findById(actor.userId, { phone: 1 }).lean();
  const user = await deps.users.update({ _id: actor.userId }, { phone: { ...phone, boundAt: deps.now() } });
  if (!user) throw new AppError('USER_NOT_FOUND', 'The user of this token no longer exists');
  // A number bound before frees its binding.
  if (before?.phone && bindingKey(before.phone) !== key) {
    await deps.db.PhoneBinding.deleteOne({ _id: bindingKey(before.phone), userId: actor.userId });
  }
  // The token's openid, as auth.me shows it (looking the identity up again only repeated it).
  return toUserOutput(user, actor.openId, deps.avatarUrls);
}
