import { createHash, createPrivateKey, createPublicKey, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { z } from 'zod';

/**
 * The keys access tokens are signed and verified with. The first key that can sign signs; every
 * key verifies tokens that name it by `kid`, with the algorithm pinned per key. Rotation: put the
 * new key first, keep the old one listed until its tokens have expired (JWT_EXPIRES_IN_S).
 * Asymmetric keys (ES256, RS256) let another service verify with the public key alone
 * (published at /.well-known/jwks.json).
 */
export type SigningAlgorithm = 'HS256' | 'ES256' | 'RS256';

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  /** Absent for a verify-only key (an old public key, or another issuer's). */
  signKey?: KeyObject;
  verifyKey: KeyObject;
  /** The public JWK, for asymmetric keys. */
  publicJwk?: Record<string, unknown>;
}

export const jwtKeysSchema = z
  .array(
    z.discriminatedUnion('alg', [
      z.object({ kid: z.string().min(1).max(64), alg: z.literal('HS256'), secret: z.string().min(32, 'secret must be at least 32 characters') }),
      z.object({
        kid: z.string().min(1).max(64),
        alg: z.enum(['ES256', 'RS256']),
        privateKey: z.string().optional(),
        publicKey: z.string().optional(),
      }),
    ]),
  )
  .min(1);
export type JwtKeysConfig = z.infer<typeof jwtKeysSchema>;

/** The kid of a JWT_SECRET: derived, so the same secret gives the same kid on every instance. */
export function kidOfSecret(secret: string): string {
  return `hs-${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
}

export function signingKeysFrom(keys: JwtKeysConfig): SigningKey[] {
  return keys.map((k) => {
    if (k.alg === 'HS256') return hmacKey(k.kid, k.secret);
    const privateKey = k.privateKey ? createPrivateKey(k.privateKey) : undefined;
    const publicKey = k.publicKey ? createPublicKey(k.publicKey) : privateKey ? createPublicKey(privateKey) : undefined;
    if (!publicKey) throw new Error(`JWT key ${k.kid} needs a privateKey or a publicKey`);
    return {
      kid: k.kid,
      alg: k.alg,
      signKey: privateKey,
      verifyKey: publicKey,
      publicJwk: { ...publicKey.export({ format: 'jwk' }), kid: k.kid, alg: k.alg, use: 'sig' },
    };
  });
}

/** Development without configured keys: one random HS256 key, gone with the process. */
export function ephemeralSigningKeys(): SigningKey[] {
  const secret = randomBytes(48).toString('base64url');
  return [hmacKey(kidOfSecret(secret), secret)];
}

/**
 * A KeyObject made once: jsonwebtoken handed a string secret rebuilds (and type-probes) a key on
 * every sign and verify, which cost ~440 µs per verified request instead of ~9 µs.
 */
function hmacKey(kid: string, secret: string): SigningKey {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  return { kid, alg: 'HS256', signKey: key, verifyKey: key };
}
