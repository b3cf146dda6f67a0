import type { AppServices } from '../appServices';
import { AppError } from '../errors';
import type { AccessTokenClaims } from '../tokens/accessToken';
import type { StoredUser } from './users';

/**
 * `Authorization: Bearer <accessToken>` → the active user and the token's claims, or a typed
 * error (TOKEN_MISSING / TOKEN_INVALID / TOKEN_EXPIRED / SESSION_REVOKED / USER_BANNED ...).
 * Shared by protected procedures and the plain HTTP routes (avatar upload).
 */
export async function authenticate(
  services: Pick<AppServices, 'tokens' | 'auth'>,
  authorization: string | undefined,
): Promise<{ user: StoredUser; openId: string; claims: AccessTokenClaims }> {
  if (!authorization) throw new AppError('TOKEN_MISSING', 'Send Authorization: Bearer <accessToken>');
  const match = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!match) throw new AppError('TOKEN_INVALID', 'The Authorization header must be Bearer <accessToken>');
  const claims = services.tokens.verify(match[1]!);
  const { user, openId } = await services.auth.principals.resolve(claims);
  return { user, openId, claims };
}
