import jwt from 'jsonwebtoken';
import { AppError } from '../errors';
import { createBoundedCache } from '../infra/perf/boundedCache';
import type { SigningKey } from './signingKeys';

export interface AccessTokenConfig {
  keys: SigningKey[];
  issuer: string;
  audience: string;
  expiresInS: number;
}

export interface IssuedAccessToken {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/** Who a verified token speaks for: the user, and the session (refresh token family) it belongs to. */
export interface AccessTokenClaims {
  userId: string;
  sessionId: string;
  /** The mini program the session belongs to. */
  appId: string;
  /** The user's openid in that app (not a secret; saves a lookup on every verified call). */
  openId: string;
}

export interface AccessTokens {
  issue(claims: AccessTokenClaims): IssuedAccessToken;
  /** Throws TOKEN_EXPIRED or TOKEN_INVALID. */
  verify(token: string): AccessTokenClaims;
  /** Public keys (JWK) of the asymmetric keys, for /.well-known/jwks.json. */
  jwks(): { keys: Record<string, unknown>[] };
}

const OBJECT_ID = /^[0-9a-f]{24}$/;
/** Tokens verified recently, remembered so that a client's next calls skip the signature check. */
const MAX_VERIFIED = 20_000;
const invalid = (why: string) => new AppError('TOKEN_INVALID', `The access token is invalid (${why})`);

/**
 * Our own login state: a JWT with `kid` in its header. Verification looks the key up by `kid`
 * and accepts only that key's algorithm, so `alg: none`, algorithm confusion and tokens of
 * unknown or retired keys are refused; issuer and audience are pinned.
 */
export function createAccessTokens(cfg: AccessTokenConfig): AccessTokens {
  const signer = cfg.keys.find((k) => k.signKey !== undefined);
  if (!signer) throw new Error('no JWT key can sign');
  const byKid = new Map(cfg.keys.map((k) => [k.kid, k]));
  // A token's verification depends only on its bytes, our keys and the clock: the same string
  // verified before is as valid as it was, until its expiry. A client sends the same token on
  // every call, and checking the signature again each time was the largest cost of a protected
  // call. Only tokens that passed every check get in; an expired one is verified again (and refused).
  const verified = createBoundedCache<string, AccessTokenClaims>({ maxEntries: MAX_VERIFIED });

  function verifyFully(token: string): { claims: AccessTokenClaims; expS: number } {
    let decoded: jwt.Jwt | null;
    try {
      // Throws (SyntaxError) for a header with "typ":"JWT" and a payload that is not JSON.
      decoded = jwt.decode(token, { complete: true });
    } catch {
      throw invalid('not a JWT');
    }
    if (!decoded || typeof decoded.payload === 'string') throw invalid('not a JWT');
    // RFC 7515 §4.1.11: a recipient must refuse a token whose `crit` names an extension it does not
    // understand. We understand none (jsonwebtoken ignores the parameter), so any `crit` is refused.
    if ((decoded.header as { crit?: unknown }).crit !== undefined) throw invalid('critical header parameters not supported');
    const key = decoded.header.kid ? byKid.get(decoded.header.kid) : undefined;
    if (!key) throw invalid('unknown key id');
    let payload: jwt.JwtPayload | string;
    try {
      payload = jwt.verify(token, key.verifyKey, { algorithms: [key.alg], issuer: cfg.issuer, audience: cfg.audience });
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError) throw new AppError('TOKEN_EXPIRED', 'The access token has expired; refresh or log in again');
      // jsonwebtoken's messages name what we expected ("jwt audience invalid. expected: ..."):
      // configuration a client has no business reading. One fixed message for all of them.
      throw invalid('not verifiable');
    }
    if (typeof payload === 'string' || typeof payload.sub !== 'string' || !OBJECT_ID.test(payload.sub)) throw invalid('bad subject');
    if (typeof payload.sid !== 'string' || payload.sid.length === 0 || payload.sid.length > 64) throw invalid('no session');
    if (typeof payload.app !== 'string' || payload.app.length === 0 || payload.app.length > 64) throw invalid('no app');
    if (typeof payload.oid !== 'string' || payload.oid.length === 0 || payload.oid.length > 128) throw invalid('no openid');
    if (typeof payload.exp !== 'number') throw invalid('no expiry');
    return { claims: { userId: payload.sub, sessionId: payload.sid, appId: payload.app, openId: payload.oid }, expS: payload.exp };
  }

  return {
    issue({ userId, sessionId, appId, openId }) {
      const accessToken = jwt.sign({ sid: sessionId, app: appId, oid: openId }, signer.signKey!, {
        algorithm: signer.alg,
        keyid: signer.kid,
        subject: userId,
        issuer: cfg.issuer,
        audience: cfg.audience,
        expiresIn: cfg.expiresInS,
      });
      return { accessToken, tokenType: 'Bearer', expiresIn: cfg.expiresInS };
    },

    verify(token) {
      const known = verified.get(token);
      if (known) return known;
      const { claims, expS } = verifyFully(token);
      // jsonwebtoken's own rule: expired once the clock reaches exp.
      verified.set(token, claims, expS * 1000);
      return claims;
    },

    jwks: () => ({ keys: cfg.keys.flatMap((k) => (k.publicJwk ? [k.publicJwk] : [])) }),
  };
}
