import { createHash } from 'node:crypto';
import { AppError } from '../errors';
import { constantTimeEqual } from '../secrets/constantTimeEqual';

/** signature = sha1_hex(rawData + session_key), over the exact string the app received. */
export function verifyRawDataSignature(rawData: string, signature: string, sessionKey: string): void {
  const expected = createHash('sha1').update(rawData + sessionKey, 'utf8').digest('hex');
  if (!constantTimeEqual(expected, signature.toLowerCase())) {
    throw new AppError('SIGNATURE_INVALID', 'rawData signature does not match this login session');
  }
}
