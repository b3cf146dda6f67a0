import { afterEach, describe, expect, it, vi } from 'vitest';
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
