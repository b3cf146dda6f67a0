import jwt from 'jsonwebtoken';
import { AppError } from '../errors';

export interface AccessTokenConfig {
  secret: string;
  issuer: string;
  audience: string;
  expiresInS: number;
}

export interface IssuedAccessToken {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export interface AccessTokens {
  issue(userId: string): IssuedAccessToken;
  /** Returns the user id (`sub`); throws TOKEN_EXPIRED or TOKEN_INVALID. */
  verify(token: string): string;
}

/**
 * Our own login state: a JWT signed with HS256, which is also the only algorithm verify accepts
 * (so `alg: none` and algorithm confusion are refused), with issuer and audience pinned.
 */
export function createAccessTokens(cfg: AccessTokenConfig): AccessTokens {
  return {
    issue(userId) {
      const accessToken = jwt.sign({}, cfg.secret, {
        algorithm: 'HS256',
        subject: userId,
        issuer: cfg.issuer,
        audience: cfg.audience,
        expiresIn: cfg.expiresInS,
      });
      return { accessToken, tokenType: 'Bearer', expiresIn: cfg.expiresInS };
    },
    verify(token) {
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, cfg.secret, {
          algorithms: ['HS256'],
          issuer: cfg.issuer,
          audience: cfg.audience,
        });
      } catch (err) {
        if (err instanceof jwt.TokenExpiredError) throw new AppError('TOKEN_EXPIRED', 'The access token has expired; log in again');
        throw new AppError('TOKEN_INVALID', 'The access token is invalid');
      }
      if (typeof payload === 'string' || typeof payload.sub !== 'string' || !/^[0-9a-f]{24}$/.test(payload.sub)) {
        throw new AppError('TOKEN_INVALID', 'The access token is invalid');
      }
      return payload.sub;
    },
  };
}
