import { createDecipheriv } from 'node:crypto';
import { AppError } from '../errors';

/**
 * WeChat's encrypted user data: AES-128-CBC, key = base64-decode(session_key), iv =
 * base64-decode(iv), PKCS#7 padding, plaintext UTF-8 JSON. Validation is strict on purpose: a
 * lenient unpad (as some SDKs do) turns a stale session_key into garbage instead of a clear error.
 * Shared by the profile, the legacy phone number and any other encrypted payload.
 */
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const STALE_KEY_HINT = 'encryptedData does not decrypt with this login session; call wx.login first, then get the data again';

function invalid(message: string): AppError {
  return new AppError('ENCRYPTED_DATA_INVALID', message);
}

export function decodeBase64Strict(value: string, what: string): Buffer {
  if (!STRICT_BASE64.test(value)) {
    const hint = value.includes(' ') ? " (a '+' may have become a space: send a JSON body)" : '';
    throw invalid(`${what} is not valid base64${hint}`);
  }
  return Buffer.from(value, 'base64');
}

/** Decrypts and parses; throws ENCRYPTED_DATA_INVALID with the precise cause. */
export function decryptWeChatData(sessionKey: string, encryptedData: string, iv: string): Record<string, unknown> {
  const key = Buffer.from(sessionKey, 'base64');
  if (key.length !== 16) throw new Error('session_key is not 16 bytes'); // ours to get right, not the client's
  const ivBytes = decodeBase64Strict(iv, 'iv');
  if (ivBytes.length !== 16) throw invalid('iv must be exactly 16 bytes');
  const ciphertext = decodeBase64Strict(encryptedData, 'encryptedData');
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw invalid('encryptedData must be a non-empty multiple of 16 bytes');
  }

  const decipher = createDecipheriv('aes-128-cbc', key, ivBytes);
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  const plaintext = unpadPkcs7(padded);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
  } catch {
    throw invalid(STALE_KEY_HINT);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw invalid(STALE_KEY_HINT);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalid(STALE_KEY_HINT);
  return data as Record<string, unknown>;
}

/** Strict PKCS#7: pad value 1..16 and every pad byte equal to it. */
function unpadPkcs7(padded: Buffer): Buffer {
  const pad = padded[padded.length - 1]!;
  if (pad < 1 || pad > 16 || pad > padded.length) throw invalid(STALE_KEY_HINT);
  for (let i = padded.length - pad; i < padded.length; i++) {
    if (padded[i] !== pad) throw invalid(STALE_KEY_HINT);
  }
  return padded.subarray(0, padded.length - pad);
}

export interface WatermarkPolicy {
  appId: string;
  /** 0 = no age limit. */
  maxAgeS: number;
  nowS: number;
}

/** Allowed clock difference for a watermark from the future. */
const FUTURE_SKEW_S = 300;

/** The watermark proves the data was made for our app, and (optionally) recently. */
export function checkWatermark(data: Record<string, unknown>, policy: WatermarkPolicy): void {
  const watermark = data.watermark as { appid?: unknown; timestamp?: unknown } | undefined;
  if (typeof watermark !== 'object' || watermark === null) throw invalid('decrypted data has no watermark');
  if (watermark.appid !== policy.appId) {
    throw new AppError('WATERMARK_APPID_MISMATCH', 'encryptedData was made for another mini program');
  }
  if (policy.maxAgeS > 0) {
    const ts = watermark.timestamp;
    if (typeof ts !== 'number' || !Number.isFinite(ts)) throw invalid('watermark has no timestamp');
    if (policy.nowS - ts > policy.maxAgeS || ts - policy.nowS > FUTURE_SKEW_S) {
      throw new AppError('WATERMARK_EXPIRED', 'encryptedData is too old; get the data again');
    }
  }
}
