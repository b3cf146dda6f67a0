import { afterEach, describe, expect, it, vi } from 'vitest';
import jwt from 'jsonwebtoken';
import { AppError } from '../errors';
import { createAccessTokens } from './accessToken';
import { ephemeralSigningKeys } from './signingKeys';

const claims = { userId: '0123456789abcdef01234567', sessionId: 's1', appId: 'wxapp', openId: 'o1' };
const tokensWith = (expiresInS: number, keys = ephemeralSigningKeys()) => createAccessTokens({ keys, issuer: 'iss', audience: 'aud', expiresInS });
const reasonOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.reason : String(err);
  }
  return 'accepted';
};

afterEach(() => {
  vi.useRealTimers();
});

describe('access token verification, with the tokens it verified before remembered', () => {
  it('a token verified before is still refused once it expires', () => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z'), toFake: ['Date'] });
    const tokens = tokensWith(60);
    const { accessToken } = tokens.issue(claims);
    expect(tokens.verify(accessToken)).toEqual(claims);
    expect(tokens.verify(accessToken)).toEqual(claims); // from memory
    vi.setSystemTime(new Date('2026-01-01T00:00:59Z'));
    expect(tokens.verify(accessToken)).toEqual(claims);
    vi.setSystemTime(new Date('2026-01-01T00:01:00Z')); // exp reached
    expect(reasonOf(() => tokens.verify(accessToken))).toBe('TOKEN_EXPIRED');
    expect(reasonOf(() => tokens.verify(accessToken))).toBe('TOKEN_EXPIRED');
  });

  it('a token refused once is refused again (refusals are not remembered as anything else)', () => {
    const tokens = tokensWith(60);
    const { accessToken } = tokens.issue(claims);
    const tampered = `${accessToken.slice(0, -2)}${accessToken.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(reasonOf(() => tokens.verify(tampered))).toBe('TOKEN_INVALID');
    expect(reasonOf(() => tokens.verify(tampered))).toBe('TOKEN_INVALID');
    expect(tokens.verify(accessToken)).toEqual(claims);
  });

  it('another instance with other keys does not accept what this one verified', () => {
    const mine = tokensWith(60);
    const theirs = tokensWith(60);
    const { accessToken } = mine.issue(claims);
    expect(mine.verify(accessToken)).toEqual(claims);
    expect(reasonOf(() => theirs.verify(accessToken))).toBe('TOKEN_INVALID');
  });
});

describe('what verification refuses, and how it says so', () => {
  const keys = ephemeralSigningKeys();
  const tokens = createAccessTokens({ keys, issuer: 'iss', audience: 'aud', expiresInS: 60 });
  const signer = keys[0]!;
  const sign = (opts: jwt.SignOptions, header: Record<string, unknown> = {}) =>
    jwt.sign({ sid: 's1', app: 'wxapp', oid: 'o1' }, signer.signKey!, {
      algorithm: signer.alg,
      subject: claims.userId,
      issuer: 'iss',
      audience: 'aud',
      expiresIn: 60,
      ...opts,
      header: { alg: signer.alg, kid: signer.kid, ...header } as jwt.JwtHeader,
    });
  const errorOf = (token: string) => {
    try {
      tokens.verify(token);
    } catch (err) {
      return err as AppError;
    }
    throw new Error('the token was accepted');
  };

  it('a token naming critical header parameters (crit) is refused: this server understands none (RFC 7515 §4.1.11)', () => {
    expect(tokens.verify(sign({}))).toEqual(claims);
    for (const crit of [['exp'], ['b64'], ['urn:example:unknown'], [], 'exp']) {
      const err = errorOf(sign({}, { crit, exp: 1, b64: true }));
      expect(err.reason, JSON.stringify(crit)).toBe('TOKEN_INVALID');
      expect(err.message).toMatch(/critical/);
    }
  });

  it("jsonwebtoken's messages never reach the client: no expected audience or issuer in the message", () => {
    for (const opts of [{ audience: 'other' }, { issuer: 'other' }, { notBefore: 3600 }]) {
      const err = errorOf(sign(opts));
      expect(err.reason).toBe('TOKEN_INVALID');
      expect(err.message).toBe('The access token is invalid (not verifiable)');
    }
    const forged = sign({}).replace(/\.[^.]+$/, '.AAAA');
    expect(errorOf(forged).message).toBe('The access token is invalid (not verifiable)');
  });
});
