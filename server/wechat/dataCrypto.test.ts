import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ErrorReason } from '../../shared';
import { AppError } from '../errors';
import { checkWatermark, decodeBase64Strict, decryptWeChatData, type WatermarkPolicy } from './dataCrypto';
import { verifyRawDataSignature } from './rawDataSignature';
import { encryptWithSessionKey } from '../infra/dev/wechatSimulator';
import { verifiedUserData } from './userData';

const verifiedProfile = (...args: Parameters<typeof verifiedUserData>) => verifiedUserData(...args).profile;

// WeChat's own published sample (the demo in the "开放数据校验与解密" docs).
const SAMPLE = {
  appId: 'wx4f4bc4dec97d474b',
  sessionKey: 'tiihtNczf5v6AKRyjwEUhQ==',
  iv: 'r7BXXKkLb8qrSNn05n0qiA==',
  encryptedData:
    'CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==',
};

/** Runs fn, demands an AppError with that reason, and returns it for further checks. */
function expectAppError(fn: () => unknown, reason: ErrorReason): AppError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected an AppError ${reason}`).toBeInstanceOf(AppError);
  const err = caught as AppError;
  expect(err.reason).toBe(reason);
  return err;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const newSessionKey = () => randomBytes(16).toString('base64');

/** AES-128-CBC over hand-made bytes, no automatic padding: lets a test write any "padding" it likes. */
function encryptRaw(sessionKey: string, plaintext: Buffer): { encryptedData: string; iv: string } {
  if (plaintext.length % 16 !== 0) throw new Error('test bug: plaintext must be block aligned');
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv);
  cipher.setAutoPadding(false);
  return { encryptedData: b64(Buffer.concat([cipher.update(plaintext), cipher.final()])), iv: b64(iv) };
}

/** Correct PKCS#7. */
function pkcs7(data: Buffer): Buffer {
  const pad = 16 - (data.length % 16);
  return Buffer.concat([data, Buffer.alloc(pad, pad)]);
}

/** Flips bits of one byte of a base64 string's decoded bytes. */
function flipByte(base64: string, index: number, mask = 0x01): string {
  const bytes = Buffer.from(base64, 'base64');
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = bytes[at]! ^ mask;
  return b64(bytes);
}

const policy = (overrides: Partial<WatermarkPolicy> = {}): WatermarkPolicy => ({
  appId: SAMPLE.appId,
  maxAgeS: 0,
  nowS: Math.floor(Date.now() / 1000),
  ...overrides,
});

describe('decryptWeChatData with WeChat\'s published sample', () => {
  it('decrypts to the documented plaintext', () => {
    const data = decryptWeChatData(SAMPLE.sessionKey, SAMPLE.encryptedData, SAMPLE.iv);
    expect(data).toMatchObject({
      openId: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
      nickName: 'Band',
      gender: 1,
      city: 'Guangzhou',
      unionId: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA',
      watermark: { timestamp: 1477314187, appid: 'wx4f4bc4dec97d474b' },
    });
  });

  it('passes the watermark check for its appid when age is not limited', () => {
    const data = decryptWeChatData(SAMPLE.sessionKey, SAMPLE.encryptedData, SAMPLE.iv);
    expect(() => checkWatermark(data, policy({ maxAgeS: 0 }))).not.toThrow();
    // The sample is from 2016: with an age limit it is (rightly) too old.
    expectAppError(() => checkWatermark(data, policy({ maxAgeS: 3600 })), 'WATERMARK_EXPIRED');
  });
});

describe('decryptWeChatData strict failures', () => {
  it('rejects a tampered last ciphertext block (bad padding)', () => {
    const tampered = flipByte(SAMPLE.encryptedData, -1);
    expectAppError(() => decryptWeChatData(SAMPLE.sessionKey, tampered, SAMPLE.iv), 'ENCRYPTED_DATA_INVALID');
    const tamperedEarly = flipByte(SAMPLE.encryptedData, -10, 0xff);
    expectAppError(() => decryptWeChatData(SAMPLE.sessionKey, tamperedEarly, SAMPLE.iv), 'ENCRYPTED_DATA_INVALID');
  });

  it('rejects a pad byte changed through CBC malleability (penultimate block)', () => {
    // Flipping the last byte of block n-1 flips exactly the last plaintext byte (the pad value).
    for (const mask of [0x10, 0x20, 0x80, 0xff]) {
      const tampered = flipByte(SAMPLE.encryptedData, -17, mask);
      expectAppError(() => decryptWeChatData(SAMPLE.sessionKey, tampered, SAMPLE.iv), 'ENCRYPTED_DATA_INVALID');
    }
  });

  it('rejects data encrypted with another (stale) session_key, with a hint to log in again', () => {
    const stale = newSessionKey();
    const payload = encryptWithSessionKey(stale, JSON.stringify({ nickName: 'x', watermark: { appid: SAMPLE.appId, timestamp: 1 } }));
    expect(decryptWeChatData(stale, payload.encryptedData, payload.iv)).toMatchObject({ nickName: 'x' });
    for (let i = 0; i < 50; i++) {
      const err = expectAppError(() => decryptWeChatData(newSessionKey(), payload.encryptedData, payload.iv), 'ENCRYPTED_DATA_INVALID');
      expect(err.message).toMatch(/wx\.login/);
    }
    expectAppError(() => decryptWeChatData(newSessionKey(), SAMPLE.encryptedData, SAMPLE.iv), 'ENCRYPTED_DATA_INVALID');
  });

  it('rejects an IV of 15 or 17 bytes', () => {
    for (const length of [0, 15, 17, 32]) {
      const err = expectAppError(() => decryptWeChatData(SAMPLE.sessionKey, SAMPLE.encryptedData, b64(randomBytes(length))), 'ENCRYPTED_DATA_INVALID');
      expect(err.message).toMatch(/iv/);
    }
  });

  it('rejects ciphertext that is not a multiple of 16 bytes, or empty', () => {
    const whole = Buffer.from(SAMPLE.encryptedData, 'base64');
    for (const ct of [whole.subarray(0, whole.length - 1), whole.subarray(0, 15), Buffer.concat([whole, Buffer.from([1])]), Buffer.alloc(0)]) {
      const err = expectAppError(() => decryptWeChatData(SAMPLE.sessionKey, b64(ct), SAMPLE.iv), 'ENCRYPTED_DATA_INVALID');
      expect(err.message).toMatch(/multiple of 16/);
    }
  });

  it('rejects malformed base64 in encryptedData and iv', () => {
    for (const bad of ['abc$', '****', 'AAAA=', 'A===', 'AAAAA', SAMPLE.encryptedData.replace(/=+$/, '') + '\n']) {
      const err = expectAppError(() => decryptWeChatData(SAMPLE.sessionKey, bad, SAMPLE.iv), 'ENCRYPTED_DATA_INVALID');
      expect(err.message).toMatch(/encryptedData is not valid base64/);
    }
    const err = expectAppError(() => decryptWeChatData(SAMPLE.sessionKey, SAMPLE.encryptedData, 'r7BXXKkLb8qrSNn0#n0qiA=='), 'ENCRYPTED_DATA_INVALID');
    expect(err.message).toMatch(/iv is not valid base64/);
  });

  it("hints at the lost '+' when a space appears where it was", () => {
    expect(SAMPLE.encryptedData).toContain('+');
    const mangled = SAMPLE.encryptedData.replaceAll('+', ' ');
    const err = expectAppError(() => decryptWeChatData(SAMPLE.sessionKey, mangled, SAMPLE.iv), 'ENCRYPTED_DATA_INVALID');
    expect(err.message).toContain("'+'");
    // No hint when there is no space.
    const plain = expectAppError(() => decodeBase64Strict('ab$d', 'iv'), 'ENCRYPTED_DATA_INVALID');
    expect(plain.message).not.toContain("'+'");
  });

  describe('padding', () => {
    const key = newSessionKey();
    const body = Buffer.from('{"a":1}', 'utf8'); // 7 bytes

    it('accepts correct hand-made PKCS#7 (control for the cases below)', () => {
      const p = encryptRaw(key, pkcs7(body));
      expect(decryptWeChatData(key, p.encryptedData, p.iv)).toEqual({ a: 1 });
      // A full block of padding (value 16) when the data is block aligned.
      const aligned = Buffer.from('{"abcdefghij":1}', 'utf8');
      expect(aligned.length).toBe(16);
      const q = encryptRaw(key, pkcs7(aligned));
      expect(Buffer.from(q.encryptedData, 'base64').length).toBe(32);
      expect(decryptWeChatData(key, q.encryptedData, q.iv)).toEqual({ abcdefghij: 1 });
    });

    it('rejects pad value 0', () => {
      const plaintext = Buffer.concat([body, Buffer.alloc(9, 0)]);
      const p = encryptRaw(key, plaintext);
      expectAppError(() => decryptWeChatData(key, p.encryptedData, p.iv), 'ENCRYPTED_DATA_INVALID');
    });

    it('rejects pad value 17', () => {
      const plaintext = Buffer.concat([body, Buffer.alloc(25, 17)]); // 32 bytes, 25 pad bytes all 17
      const p = encryptRaw(key, plaintext);
      expectAppError(() => decryptWeChatData(key, p.encryptedData, p.iv), 'ENCRYPTED_DATA_INVALID');
    });

    it('rejects inconsistent pad bytes', () => {
      const plaintext = Buffer.concat([body, Buffer.from([9, 9, 9, 9, 9, 9, 9, 8, 9])]);
      expect(plaintext.length).toBe(16);
      const p = encryptRaw(key, plaintext);
      expectAppError(() => decryptWeChatData(key, p.encryptedData, p.iv), 'ENCRYPTED_DATA_INVALID');
      // The first pad byte wrong, the last ones right.
      const first = Buffer.concat([body, Buffer.from([1, 9, 9, 9, 9, 9, 9, 9, 9])]);
      const q = encryptRaw(key, first);
      expectAppError(() => decryptWeChatData(key, q.encryptedData, q.iv), 'ENCRYPTED_DATA_INVALID');
    });
  });

  it('rejects plaintext that is not UTF-8', () => {
    const key = newSessionKey();
    const p = encryptRaw(key, pkcs7(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])));
    expectAppError(() => decryptWeChatData(key, p.encryptedData, p.iv), 'ENCRYPTED_DATA_INVALID');
    // A lone UTF-8 continuation byte inside a JSON string.
    const q = encryptRaw(key, pkcs7(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0x22, 0x7d])));
    expectAppError(() => decryptWeChatData(key, q.encryptedData, q.iv), 'ENCRYPTED_DATA_INVALID');
  });

  it('rejects plaintext that is not JSON', () => {
    const key = newSessionKey();
    for (const text of ['hello', '{"a":1', '', "{'a':1}"]) {
      const p = encryptWithSessionKey(key, text);
      expectAppError(() => decryptWeChatData(key, p.encryptedData, p.iv), 'ENCRYPTED_DATA_INVALID');
    }
  });

  it('rejects JSON that is not an object', () => {
    const key = newSessionKey();
    for (const text of ['[1,2]', '[]', '42', 'null', '"str"', 'true']) {
      const p = encryptWithSessionKey(key, text);
      expectAppError(() => decryptWeChatData(key, p.encryptedData, p.iv), 'ENCRYPTED_DATA_INVALID');
    }
  });

  it('refuses a session_key that is not 16 bytes without echoing it', () => {
    const badKey = randomBytes(15).toString('base64');
    expect(() => decryptWeChatData(badKey, SAMPLE.encryptedData, SAMPLE.iv)).toThrow(/16 bytes/);
    try {
      decryptWeChatData(badKey, SAMPLE.encryptedData, SAMPLE.iv);
    } catch (err) {
      expect((err as Error).message).not.toContain(badKey);
    }
  });

  it('never puts the session_key into an error message', () => {
    const cases: Array<[string, string]> = [
      [flipByte(SAMPLE.encryptedData, -1), SAMPLE.iv],
      [SAMPLE.encryptedData, b64(randomBytes(15))],
      ['abc$', SAMPLE.iv],
    ];
    for (const [ct, iv] of cases) {
      const err = expectAppError(() => decryptWeChatData(SAMPLE.sessionKey, ct, iv), 'ENCRYPTED_DATA_INVALID');
      expect(err.message).not.toContain(SAMPLE.sessionKey);
    }
  });
});

describe('decodeBase64Strict', () => {
  it('decodes canonical base64 and rejects the rest', () => {
    expect(decodeBase64Strict('aGVsbG8=', 'x').toString('utf8')).toBe('hello');
    expect(decodeBase64Strict('', 'x').length).toBe(0);
    expect(decodeBase64Strict('+/+/', 'x')).toEqual(Buffer.from([0xfb, 0xff, 0xbf]));
    for (const bad of ['aGVsbG8', 'aGVsbG8==', 'aGV sbG8=', '-_-_', 'aGVs\nbG8=']) {
      const err = expectAppError(() => decodeBase64Strict(bad, 'thing'), 'ENCRYPTED_DATA_INVALID');
      expect(err.message).toMatch(/^thing is not valid base64/);
    }
  });
});

describe('checkWatermark', () => {
  const nowS = 1_700_000_000;
  const data = (watermark: unknown) => ({ nickName: 'x', watermark });

  it('rejects data without a watermark', () => {
    for (const d of [{ nickName: 'x' }, data(null), data('wx4f4bc4dec97d474b'), data(42)]) {
      expectAppError(() => checkWatermark(d, policy({ nowS })), 'ENCRYPTED_DATA_INVALID');
    }
  });

  it('rejects a watermark for another appid', () => {
    expectAppError(() => checkWatermark(data({ appid: 'wx0000000000000000', timestamp: nowS }), policy({ nowS })), 'WATERMARK_APPID_MISMATCH');
    expectAppError(() => checkWatermark(data({ timestamp: nowS }), policy({ nowS })), 'WATERMARK_APPID_MISMATCH');
    expectAppError(() => checkWatermark(data({ appid: SAMPLE.appId.toUpperCase(), timestamp: nowS }), policy({ nowS })), 'WATERMARK_APPID_MISMATCH');
  });

  it('enforces the maximum age when it is > 0', () => {
    const p = policy({ nowS, maxAgeS: 600 });
    expect(() => checkWatermark(data({ appid: SAMPLE.appId, timestamp: nowS - 600 }), p)).not.toThrow();
    expectAppError(() => checkWatermark(data({ appid: SAMPLE.appId, timestamp: nowS - 601 }), p), 'WATERMARK_EXPIRED');
    expectAppError(() => checkWatermark(data({ appid: SAMPLE.appId, timestamp: 0 }), p), 'WATERMARK_EXPIRED');
  });

  it('rejects a timestamp too far in the future, allowing some clock skew', () => {
    const p = policy({ nowS, maxAgeS: 600 });
    expect(() => checkWatermark(data({ appid: SAMPLE.appId, timestamp: nowS + 300 }), p)).not.toThrow();
    expectAppError(() => checkWatermark(data({ appid: SAMPLE.appId, timestamp: nowS + 301 }), p), 'WATERMARK_EXPIRED');
    expectAppError(() => checkWatermark(data({ appid: SAMPLE.appId, timestamp: nowS + 86_400 }), p), 'WATERMARK_EXPIRED');
  });

  it('needs a numeric timestamp when age is checked', () => {
    const p = policy({ nowS, maxAgeS: 600 });
    for (const timestamp of [undefined, String(nowS), Number.NaN, Number.POSITIVE_INFINITY]) {
      expectAppError(() => checkWatermark(data({ appid: SAMPLE.appId, timestamp }), p), 'ENCRYPTED_DATA_INVALID');
    }
  });

  it('ignores age (and a missing timestamp) when maxAgeS is 0', () => {
    const p = policy({ nowS, maxAgeS: 0 });
    expect(() => checkWatermark(data({ appid: SAMPLE.appId, timestamp: 1 }), p)).not.toThrow();
    expect(() => checkWatermark(data({ appid: SAMPLE.appId, timestamp: nowS + 10 * 86_400 }), p)).not.toThrow();
    expect(() => checkWatermark(data({ appid: SAMPLE.appId }), p)).not.toThrow();
  });
});

describe('verifyRawDataSignature', () => {
  const sessionKey = SAMPLE.sessionKey;
  const rawData = JSON.stringify({ nickName: 'Band', gender: 1, city: 'Guangzhou' });
  const signature = createHash('sha1').update(rawData + sessionKey, 'utf8').digest('hex');

  it('accepts the correct signature, in lower or upper case hex', () => {
    expect(signature).toMatch(/^[0-9a-f]{40}$/);
    expect(() => verifyRawDataSignature(rawData, signature, sessionKey)).not.toThrow();
    expect(() => verifyRawDataSignature(rawData, signature.toUpperCase(), sessionKey)).not.toThrow();
  });

  it('signs the exact UTF-8 string (non-ASCII nickname)', () => {
    const raw = JSON.stringify({ nickName: '微信用户' });
    const sig = createHash('sha1').update(Buffer.from(raw + sessionKey, 'utf8')).digest('hex');
    expect(() => verifyRawDataSignature(raw, sig, sessionKey)).not.toThrow();
  });

  it('rejects a wrong signature', () => {
    const wrong = [
      signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0'),
      signature.slice(0, 39),
      '',
      `${signature} `,
      createHash('sha1').update(rawData + newSessionKey(), 'utf8').digest('hex'), // stale key
      createHash('sha1').update(rawData, 'utf8').digest('hex'), // key left out
    ];
    for (const sig of wrong) {
      const err = expectAppError(() => verifyRawDataSignature(rawData, sig, sessionKey), 'SIGNATURE_INVALID');
      expect(err.message).not.toContain(sessionKey);
    }
  });

  it('rejects rawData that was re-serialized (not the exact string)', () => {
    const reformatted = JSON.stringify(JSON.parse(rawData), null, 1);
    expectAppError(() => verifyRawDataSignature(reformatted, signature, sessionKey), 'SIGNATURE_INVALID');
  });
});

describe('verifiedProfile', () => {
  const openId = 'oUser0000000000000000000001';
  const appId = 'wx1234567890abcdef';
  const nowS = 1_700_000_000;
  const wm: WatermarkPolicy = { appId, maxAgeS: 0, nowS };
  const anonymous = {
    nickName: '微信用户',
    avatarUrl: 'https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132',
    gender: 0 as const,
    language: 'zh_CN',
    city: '',
    province: '',
    country: '',
  };
  const sign = (rawData: string, key: string) => createHash('sha1').update(rawData + key, 'utf8').digest('hex');
  /** What wx.getUserInfo gives the app: the encrypted copy with watermark (and openId), the signed rawData. */
  function userInfo(key: string, profile: object, extra: object = {}) {
    const rawData = JSON.stringify(profile);
    return {
      ...encryptWithSessionKey(key, JSON.stringify({ ...profile, openId, ...extra, watermark: { appid: appId, timestamp: nowS } })),
      rawData,
      signature: sign(rawData, key),
    };
  }

  it('needs encryptedData and iv together, rawData and signature together', () => {
    const key = newSessionKey();
    const full = userInfo(key, anonymous);
    expectAppError(() => verifiedProfile({ encryptedData: full.encryptedData }, key, openId, wm), 'ENCRYPTED_DATA_INCOMPLETE');
    expectAppError(() => verifiedProfile({ iv: full.iv }, key, openId, wm), 'ENCRYPTED_DATA_INCOMPLETE');
    expectAppError(() => verifiedProfile({ rawData: full.rawData }, key, openId, wm), 'ENCRYPTED_DATA_INCOMPLETE');
    expectAppError(() => verifiedProfile({ signature: full.signature }, key, openId, wm), 'ENCRYPTED_DATA_INCOMPLETE');
    expectAppError(() => verifiedProfile({ encryptedData: full.encryptedData, iv: full.iv, rawData: full.rawData }, key, openId, wm), 'ENCRYPTED_DATA_INCOMPLETE');
  });

  it('returns null when no user data was sent', () => {
    expect(verifiedProfile({}, newSessionKey(), openId, wm)).toBeNull();
    expect(verifiedProfile({ encryptedData: undefined, iv: undefined, rawData: undefined, signature: undefined }, newSessionKey(), openId, wm)).toBeNull();
  });

  it('returns the anonymous profile from encrypted data, without openId, unionId or watermark', () => {
    const key = newSessionKey();
    const profile = verifiedProfile(userInfo(key, anonymous, { unionId: 'oUnion' }), key, openId, wm);
    expect(profile).toEqual(anonymous);
    expect(profile).not.toHaveProperty('openId');
    expect(profile).not.toHaveProperty('unionId');
    expect(profile).not.toHaveProperty('watermark');
  });

  it('returns the unionId of the encrypted data beside the profile; signed rawData carries none', () => {
    const key = newSessionKey();
    expect(verifiedUserData(userInfo(key, anonymous, { unionId: 'oUnion' }), key, openId, wm)).toEqual({ profile: anonymous, unionId: 'oUnion' });
    expect(verifiedUserData(userInfo(key, anonymous), key, openId, wm).unionId).toBeNull();
    expect(verifiedUserData(userInfo(key, anonymous, { unionId: 42 }), key, openId, wm).unionId).toBeNull();
    const { rawData, signature } = userInfo(key, { ...anonymous, unionId: 'oForged' });
    expect(verifiedUserData({ rawData, signature }, key, openId, wm).unionId).toBeNull();
  });

  it("takes the unionId of WeChat's own published sample", () => {
    const sample = verifiedUserData(SAMPLE, SAMPLE.sessionKey, 'oGZUI0egBJY1zhBYw2KhdUfwVJJE', { appId: SAMPLE.appId, maxAgeS: 0, nowS });
    expect(sample.unionId).toBe('ocMvos6NjeKLIBqg5Mr9QjxrP1FA');
  });

  it('returns the profile from signed rawData alone', () => {
    const key = newSessionKey();
    const { rawData, signature } = userInfo(key, anonymous);
    expect(verifiedProfile({ rawData, signature }, key, openId, wm)).toEqual(anonymous);
  });

  it('checks the rawData signature even when encrypted data is also sent', () => {
    const key = newSessionKey();
    const input = userInfo(key, anonymous);
    expectAppError(() => verifiedProfile({ ...input, signature: sign(input.rawData, newSessionKey()) }, key, openId, wm), 'SIGNATURE_INVALID');
  });

  it('rejects encrypted data naming another user', () => {
    const key = newSessionKey();
    const input = userInfo(key, anonymous, { openId: 'oSomebodyElse' });
    const err = expectAppError(() => verifiedProfile(input, key, openId, wm), 'ENCRYPTED_DATA_INVALID');
    expect(err.message).toMatch(/another user/);
  });

  it('accepts encrypted data without an openId (phone-number style payloads)', () => {
    const key = newSessionKey();
    const p = encryptWithSessionKey(key, JSON.stringify({ nickName: 'N', watermark: { appid: appId, timestamp: nowS } }));
    expect(verifiedProfile(p, key, openId, wm)).toEqual({ nickName: 'N' });
  });

  it('rejects a stale session_key and a watermark for another app', () => {
    const key = newSessionKey();
    expectAppError(() => verifiedProfile(userInfo(newSessionKey(), anonymous), key, openId, wm), 'SIGNATURE_INVALID');
    const { encryptedData, iv } = userInfo(newSessionKey(), anonymous);
    expectAppError(() => verifiedProfile({ encryptedData, iv }, key, openId, wm), 'ENCRYPTED_DATA_INVALID');
    expectAppError(() => verifiedProfile(userInfo(key, anonymous), key, openId, { ...wm, appId: 'wxother' }), 'WATERMARK_APPID_MISMATCH');
    expectAppError(() => verifiedProfile(userInfo(key, anonymous), key, openId, { ...wm, maxAgeS: 60, nowS: nowS + 61 }), 'WATERMARK_EXPIRED');
  });

  it('drops wrongly typed or oversized fields instead of failing', () => {
    const key = newSessionKey();
    const messy = { nickName: 5, avatarUrl: 'x'.repeat(2000), gender: 3, language: null, city: 'Guangzhou', province: ['GD'], country: 'China' };
    const fromEncrypted = verifiedProfile(userInfo(key, messy), key, openId, wm);
    expect(fromEncrypted).toEqual({ city: 'Guangzhou', country: 'China' });
    expect(fromEncrypted?.nickName).toBeUndefined();
    expect(fromEncrypted?.gender).toBeUndefined();
    const { rawData, signature } = userInfo(key, messy);
    expect(verifiedProfile({ rawData, signature }, key, openId, wm)).toEqual({ city: 'Guangzhou', country: 'China' });
  });

  it('treats signed rawData that is not a JSON object as an empty profile, and non-JSON as invalid', () => {
    const key = newSessionKey();
    for (const rawData of ['[]', '[{"nickName":"x"}]', 'null', '"text"', '7']) {
      expect(verifiedProfile({ rawData, signature: sign(rawData, key) }, key, openId, wm)).toEqual({});
    }
    expectAppError(() => verifiedProfile({ rawData: 'not json', signature: sign('not json', key) }, key, openId, wm), 'ENCRYPTED_DATA_INVALID');
  });
});

describe('decryptWeChatData property: an object or an AppError, nothing else', () => {
  const key = SAMPLE.sessionKey;
  const blocks = fc.integer({ min: 1, max: 6 }).chain((n) => fc.uint8Array({ minLength: 16 * n, maxLength: 16 * n }));
  const ivBytes = fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 40 }));
  const ctBytes = fc.oneof(blocks, fc.uint8Array({ maxLength: 100 }));
  const ivText = fc.oneof({ weight: 4, arbitrary: ivBytes.map(b64) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) });
  const ctText = fc.oneof({ weight: 4, arbitrary: ctBytes.map(b64) }, { weight: 1, arbitrary: fc.string({ maxLength: 60 }) });

  function outcome(encryptedData: string, iv: string): { ok: Record<string, unknown> } | { error: unknown } {
    try {
      return { ok: decryptWeChatData(key, encryptedData, iv) };
    } catch (error) {
      return { error };
    }
  }

  it('holds for arbitrary ciphertext and iv', () => {
    fc.assert(
      fc.property(ctText, ivText, (encryptedData, iv) => {
        const r = outcome(encryptedData, iv);
        if ('ok' in r) return typeof r.ok === 'object' && r.ok !== null && !Array.isArray(r.ok);
        return r.error instanceof AppError && r.error.reason === 'ENCRYPTED_DATA_INVALID';
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips any JSON object and rejects any other JSON value, when properly encrypted', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
        const text = JSON.stringify(value);
        const p = encryptWithSessionKey(key, text);
        const r = outcome(p.encryptedData, p.iv);
        const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
        if (isObject) return 'ok' in r && JSON.stringify(r.ok) === text;
        return 'error' in r && r.error instanceof AppError && r.error.reason === 'ENCRYPTED_DATA_INVALID';
      }),
      { numRuns: 500 },
    );
  });
});
