import { randomBytes } from 'node:crypto';

/**
 * Avatar ids and their public URLs. A user document stores the id of their uploaded avatar, never
 * a URL: the URL is built on every answer from configuration, so a request's Host header can never
 * end up in it, and a changed PUBLIC_BASE_URL moves every avatar with it.
 */
export interface AvatarUrls {
  /** The public URL of a stored avatar. */
  urlOf(id: string): string;
  /**
   * What follows `<base>/avatars/` in a URL that points at this server's avatars (compared as
   * parsed URLs: case of the host, default ports and query do not matter), else null. Not
   * necessarily a valid id: the caller compares it with the one it expects.
   */
  idOf(url: string): string | null;
}

/** 16 random bytes (128 bits), base64url: an upload tells nothing about anyone else's ids. */
const ID_BYTES = 16;
const AVATAR_ID = /^[A-Za-z0-9_-]{22}$/;

export function newAvatarId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

export function isAvatarId(value: string): boolean {
  return AVATAR_ID.test(value);
}

/**
 * `publicBaseUrl` is PUBLIC_BASE_URL (required in production). Without it (development and
 * tests) URLs use the server's own listening address, which `listeningAt` sets once the server
 * listens: what the operator configured either way, never what a client sent.
 */
export function createAvatarUrls(publicBaseUrl: string | undefined): AvatarUrls & { listeningAt(origin: string): void } {
  let base = publicBaseUrl?.replace(/\/+$/, '');
  const baseOrThrow = () => {
    // Ours to get right: nothing answers requests before the server listens.
    if (base === undefined) throw new Error('avatar URLs asked for before the server listens');
    return base;
  };
  return {
    urlOf: (id) => `${baseOrThrow()}/avatars/${id}`,
    idOf(url) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return null;
      }
      const avatars = new URL(`${baseOrThrow()}/avatars/`);
      if (parsed.origin !== avatars.origin || !parsed.pathname.startsWith(avatars.pathname)) return null;
      return parsed.pathname.slice(avatars.pathname.length);
    },
    listeningAt(origin) {
      base ??= origin.replace(/\/+$/, '');
    },
  };
}
