// The mini program's side of the simulator: what wx.login, wx.getUserInfo and the getPhoneNumber
// button would hand the app, produced exactly as WeChat produces it, so the backend under test
// decrypts and verifies real ciphertext and real signatures.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import type { PhoneInfo, SimulatorState } from './state';

export interface UserInfoProfile { nickName: string; avatarUrl: string; gender: 0 | 1 | 2; language: string; city: string; province: string; country: string }
export interface EncryptedPayload { encryptedData: string; iv: string }
export interface SignedUserInfo extends EncryptedPayload { rawData: string; signature: string; userInfo: UserInfoProfile }

interface PhoneInput { purePhoneNumber: string; countryCode: string }
interface WatermarkOptions { appId?: string; timestamp?: number }

export interface AppSide {
  appId: string;
  login(openid: string, opts?: { unionId?: string }): string;
  failingCode(errcode: number, errmsg?: string): string;
  sessionKeyOf(openid: string): string | undefined;
  userInfo(openid: string, profile?: Partial<UserInfoProfile>, opts?: WatermarkOptions & { sessionKey?: string }): SignedUserInfo;
  encryptPhone(openid: string, phone: PhoneInput, opts?: WatermarkOptions): EncryptedPayload;
  encrypt(openid: string, data: object, opts?: WatermarkOptions & { watermark?: boolean; sessionKey?: string }): EncryptedPayload;
  phoneCode(openid: string, phone: PhoneInput): string;
}

// What wx.getUserInfo has returned since 2021: the anonymous profile with the grey avatar.
const ANONYMOUS_PROFILE: UserInfoProfile = {
  nickName: '微信用户',
  avatarUrl: 'https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132',
  gender: 0,
  language: 'zh_CN',
  city: '',
  province: '',
  country: '',
};

// WeChat's own wording for the errcodes tests most often ask for; anything else gets a generic text.
const ERRMSG: Record<number, string> = {
  [-1]: 'system error',
  40029: 'invalid code',
  40163: 'code been used',
  40226: 'high risk user',
  45011: 'api minute-quota reach limit mustslower retry next minute',
};

/** The phone number as WeChat spells it: bare for mainland China, prefixed by the country code otherwise. */
export function phoneInfoOf(phone: PhoneInput): PhoneInfo {
  const phoneNumber = phone.countryCode === '86' ? phone.purePhoneNumber : phone.countryCode + phone.purePhoneNumber;
  return { phoneNumber, purePhoneNumber: phone.purePhoneNumber, countryCode: phone.countryCode };
}

/** AES-128-CBC with PKCS#7 padding (node's default), key = base64-decode(session_key), fresh random IV. */
export function encryptWithSessionKey(sessionKey: string, plaintext: string): EncryptedPayload {
  const key = Buffer.from(sessionKey, 'base64');
  if (key.length !== 16) throw new Error('a session_key must be the base64 of 16 bytes');
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { encryptedData: encrypted.toString('base64'), iv: iv.toString('base64') };
}

export function createAppSide(state: SimulatorState, appId: string): AppSide {
  const keyFor = (openid: string, override?: string): string => {
    const key = override ?? state.sessionKeyOf(appId, openid);
    // A test asking for data of a user who never called wx.login has a bug worth hearing about.
    if (key === undefined) throw new Error(`openid ${openid} has no session_key yet: call login() first`);
    return key;
  };
  const watermark = (opts: WatermarkOptions | undefined) => ({
    appid: opts?.appId ?? appId,
    timestamp: opts?.timestamp ?? Math.floor(state.nowMs() / 1000),
  });

  const encrypt: AppSide['encrypt'] = (openid, data, opts) => {
    const plain = opts?.watermark === false ? data : { ...data, watermark: watermark(opts) };
    return encryptWithSessionKey(keyFor(openid, opts?.sessionKey), JSON.stringify(plain));
  };

  return {
    appId,
    login: (openid, opts) => state.mintLoginCode(appId, openid, opts?.unionId),
    failingCode: (errcode, errmsg) => state.mintFailingCode(appId, errcode, errmsg ?? ERRMSG[errcode] ?? 'simulated error'),
    sessionKeyOf: (openid) => state.sessionKeyOf(appId, openid),
    userInfo(openid, profile, opts) {
      const userInfo: UserInfoProfile = { ...ANONYMOUS_PROFILE, ...profile };
      const sessionKey = keyFor(openid, opts?.sessionKey);
      // rawData is the profile alone; the encrypted copy also carries the watermark.
      const rawData = JSON.stringify(userInfo);
      const signature = createHash('sha1').update(rawData + sessionKey, 'utf8').digest('hex');
      return { ...encrypt(openid, userInfo, { ...opts, sessionKey }), rawData, signature, userInfo };
    },
    encrypt,
    encryptPhone: (openid, phone, opts) => encrypt(openid, phoneInfoOf(phone), opts),
    // WeChat's phone code is not tied to a wx.login session, so the openid only names who pressed the button.
    phoneCode: (_openid, phone) => state.mintPhoneCode(appId, phoneInfoOf(phone)),
  };
}
