import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from './constantTimeEqual';
import { createSecretBox, dataEncryptionKey } from './secretBox';

const SESSION_KEY = 'tiihtNczf5v6AKRyjwEUhQ==';

/** Flips one bit of the decoded bytes of a base64url part. */
function flipPart(part: string, index = 0): string {
  const bytes = Buffer.from(part, 'base64url');
  bytes[index] = bytes[index]! ^ 0x01;
  return bytes.toString('base64url');
}

describe('createSecretBox', () => {
  it('round-trips, in the documented v1 format, with a fresh IV each time', () => {
    const box = createSecretBox(randomBytes(32));
    for (const plaintext of [SESSION_KEY, '', '微信用户 ✓', 'x'.repeat(10_000)]) {
      const sealed = box.seal(plaintext);
      expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/);
      expect(box.open(sealed)).toBe(plaintext);
    }
    const a = box.seal(SESSION_KEY);
    const b = box.seal(SESSION_KEY);
    expect(a).not.toBe(b);
    expect(a).not.toContain(SESSION_KEY);
    const [, iv, tag] = a.split('.');
    expect(Buffer.from(iv!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag!, 'base64url')).toHaveLength(16);
  });

  it('throws when any part was tampered with', () => {
    const box = createSecretBox(randomBytes(32));
    const sealed = box.seal(SESSION_KEY);
    const [version, iv, tag, ct] = sealed.split('.') as [string, string, string, string];
    const tampered = [
      ['v2', iv, tag, ct],
      ['', iv, tag, ct],
      [version, flipPart(iv), tag, ct],
      [version, flipPart(iv, 11), tag, ct],
      [version, iv, flipPart(tag), ct],
      [version, iv, flipPart(tag, 15), ct],
      [version, iv, tag, flipPart(ct)],
      [version, iv, tag, flipPart(ct, Buffer.from(ct, 'base64url').length - 1)],
      [version, iv, tag, ct.slice(0, -2)], // truncated ciphertext
      [version, iv, tag, ''], // ciphertext removed
      [version, '', tag, ct],
      [version, iv, '', ct],
      // A truncated tag must not be accepted as a (weaker) valid tag.
      [version, iv, Buffer.from(tag, 'base64url').subarray(0, 4).toString('base64url'), ct],
      [version, iv, Buffer.from(tag, 'base64url').subarray(0, 12).toString('base64url'), ct],
    ];
    for (const parts of tampered) {
      expect(() => box.open(parts.join('.')), parts.join('.')).toThrow();
    }
    expect(() => box.open(`${sealed}.extra`)).toThrow();
    expect(() => box.open([version, iv, tag].join('.'))).toThrow();
    expect(() => box.open('')).toThrow();
    expect(() => box.open(SESSION_KEY)).toThrow();
    // The untouched value still opens.
    expect(box.open(sealed)).toBe(SESSION_KEY);
  });

  it('throws when opened with another key', () => {
    const sealed = createSecretBox(randomBytes(32)).seal(SESSION_KEY);
    expect(() => createSecretBox(randomBytes(32)).open(sealed)).toThrow();
  });

  it('only takes a 32-byte key', () => {
    expect(() => createSecretBox(randomBytes(16))).toThrow(/32 bytes/);
    expect(() => createSecretBox(randomBytes(33))).toThrow(/32 bytes/);
  });
});

describe('dataEncryptionKey', () => {
  const secretA = 'a'.repeat(32) + '-first-jwt-secret';
  const secretB = 'a'.repeat(32) + '-other-jwt-secret';

  it('derives a deterministic 32-byte key from the JWT secret', () => {
    const k1 = dataEncryptionKey(undefined, secretA);
    const k2 = dataEncryptionKey(undefined, secretA);
    expect(k1).toHaveLength(32);
    expect(k1.equals(k2)).toBe(true);
    // Derived, not the secret itself.
    expect(k1.toString('utf8')).not.toContain(secretA.slice(0, 16));
    // A box on the derived key opens what another box on the same derivation sealed.
    const sealed = createSecretBox(k1).seal(SESSION_KEY);
    expect(createSecretBox(k2).open(sealed)).toBe(SESSION_KEY);
  });

  it('derives different keys for different secrets', () => {
    const kA = dataEncryptionKey(undefined, secretA);
    const kB = dataEncryptionKey(undefined, secretB);
    expect(kA.equals(kB)).toBe(false);
    expect(() => createSecretBox(kB).open(createSecretBox(kA).seal(SESSION_KEY))).toThrow();
  });

  it('uses an explicit key as is, ignoring the JWT secret', () => {
    const explicit = randomBytes(32);
    const k = dataEncryptionKey(explicit.toString('base64'), secretA);
    expect(k.equals(explicit)).toBe(true);
    expect(dataEncryptionKey(explicit.toString('base64'), secretB).equals(explicit)).toBe(true);
    expect(k.equals(dataEncryptionKey(undefined, secretA))).toBe(false);
  });

  it('falls back to derivation for an empty explicit key', () => {
    expect(dataEncryptionKey('', secretA).equals(dataEncryptionKey(undefined, secretA))).toBe(true);
  });
});

describe('constantTimeEqual', () => {
  it('is true for equal strings and false otherwise', () => {
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual(SESSION_KEY, SESSION_KEY)).toBe(true);
    expect(constantTimeEqual('微信', '微信')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'ABC')).toBe(false);
  });

  it('handles different lengths without throwing (timingSafeEqual alone would)', () => {
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', 'a')).toBe(false);
    expect(constantTimeEqual('a'.repeat(1000), 'a')).toBe(false);
    expect(constantTimeEqual('abc', 'abc\u0000')).toBe(false);
  });
});
