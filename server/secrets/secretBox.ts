import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encrypts small secrets at rest (the user's latest session_key) with AES-256-GCM.
 * Sealed form: `v1.<iv>.<tag>.<ciphertext>`, base64url parts; the version lets the format change.
 */
export interface SecretBox {
  seal(plaintext: string): string;
  /** Throws when the value was not sealed by this key or was altered. */
  open(sealed: string): string;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('secret box key must be 32 bytes');
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), ct].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
    },
    open(sealed) {
      const parts = sealed.split('.');
      const [version, iv, tag, ct] = parts;
      if (parts.length !== 4 || version !== 'v1' || !iv || !tag || ct === undefined) throw new Error('not a sealed value');
      // authTagLength pins the tag to 16 bytes: otherwise GCM accepts a truncated (4..15 byte) tag.
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}

/** DATA_ENCRYPTION_KEY when given; otherwise a key derived from the JWT secret (HKDF-SHA256). */
export function dataEncryptionKey(explicitKeyBase64: string | undefined, jwtSecret: string): Buffer {
  if (explicitKeyBase64) return Buffer.from(explicitKeyBase64, 'base64');
  return Buffer.from(hkdfSync('sha256', jwtSecret, 'wx-login-backend', 'session_key at rest v1', 32));
}
