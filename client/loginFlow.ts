import type { TRPCClient } from '@trpc/client';
import type { AppRouter } from '../server/root';
import type { PlainProfileInput, UserOutput } from '../shared/schemas/user';
import { errorData, errorReason, MiniProgramClientError } from './errors';
import type { TokenStore } from './tokenStore';
import type { WxApi } from './wxApi';

/** What the app hands over to register a new user: the fill-in profile, and/or legacy encrypted data. */
export interface RegistrationData {
  profile?: PlainProfileInput;
  encryptedData?: string;
  iv?: string;
  rawData?: string;
  signature?: string;
}

/** Asked once when the WeChat user has no account yet; return null to decline (the login then fails). */
export type OnRegister = (request: { registrationTicket: string }) => Promise<RegistrationData | null> | RegistrationData | null;

export interface LoginResult {
  user: UserOutput;
  isNewUser: boolean;
}

export function wxLogin(wx: Pick<WxApi, 'login'>): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({
      timeout: 10_000,
      success: (res) => (res.code ? resolve(res.code) : reject(new MiniProgramClientError('WX_LOGIN_FAILED', 'wx.login gave no code'))),
      fail: (err) => reject(new MiniProgramClientError('WX_LOGIN_FAILED', `wx.login failed (${err?.errMsg ?? 'unknown'})`)),
    });
  });
}

/** The server's answers that mean the session is over already: nothing left to end. */
const ALREADY_ENDED = new Set<string>(['SESSION_REVOKED', 'USER_NOT_FOUND', 'REFRESH_TOKEN_INVALID', 'REFRESH_TOKEN_EXPIRED', 'REFRESH_TOKEN_REUSED']);
/** The access token cannot speak for its session any more, but the refresh token may. */
const ACCESS_TOKEN_UNUSABLE = new Set<string>(['TOKEN_EXPIRED', 'TOKEN_INVALID']);

interface IssuedPair {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
}

/**
 * The session: log in (wx.login → auth.login, and auth.register when the user is new), keep the
 * tokens, and re-establish the session when the server says it is gone: auth.refresh first, a
 * silent login when that fails. Single-flight: however many calls ask at once, one refresh or
 * one wx.login + auth.login runs.
 */
export class LoginFlow {
  /** Bumped whenever a new token is saved, so a call can tell whether its token was already replaced. */
  generation = 0;
  private inFlight: Promise<unknown> | null = null;

  constructor(
    /** wx.login's code; undefined on WeChat Cloud Hosting, where the gateway names the user. */
    private readonly loginCode: () => Promise<string | undefined>,
    private readonly api: TRPCClient<AppRouter>,
    private readonly store: TokenStore,
    private readonly onRegister: OnRegister | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  private single<T>(work: () => Promise<T>): Promise<T> {
    if (this.inFlight) return this.inFlight as Promise<T>;
    const running = work().finally(() => {
      this.inFlight = null;
    });
    this.inFlight = running;
    return running;
  }

  /** A full login. Joins whatever session work is already running instead of starting another. */
  async login(): Promise<LoginResult> {
    const pending = this.inFlight;
    if (pending) await pending.catch(() => undefined);
    return this.single(() => this.run());
  }

  /** After a token error on a call sent under `seenGeneration`: renew the session unless someone already did. */
  async reestablish(seenGeneration: number): Promise<void> {
    if (this.generation !== seenGeneration && !this.inFlight) return;
    if (this.inFlight) {
      await this.inFlight;
      return;
    }
    await this.single(() => this.renew());
  }

  /**
   * Forgets the session on this device, then ends it on the server. The device forgets it first
   * and in any case: a user who logged out must not stay logged in on this phone. When the server
   * could not be told (no network, a timeout, the server down), this rejects with that error: the
   * session then stays valid on the server until it expires or is revoked, which the app should
   * know rather than believe the opposite. An access token past its expiry is renewed once with
   * the refresh token, so the logout still reaches the session; a session the server has already
   * ended counts as ended.
   */
  async logout(endOnServer: (accessToken: string) => Promise<unknown>): Promise<void> {
    // A renewal in flight would save a session after this one forgot it.
    if (this.inFlight) await this.inFlight.catch(() => undefined);
    const session = this.store.get();
    this.store.clear();
    this.generation++;
    if (!session) return;
    try {
      await endOnServer(session.accessToken);
      return;
    } catch (err) {
      const reason = errorReason(err);
      if (ALREADY_ENDED.has(reason)) return;
      if (!ACCESS_TOKEN_UNUSABLE.has(reason) || !session.refreshToken) throw err;
    }
    let renewed: IssuedPair;
    try {
      renewed = await this.api.auth.refresh.mutate({ refreshToken: session.refreshToken });
    } catch (err) {
      if (ALREADY_ENDED.has(errorReason(err))) return;
      throw err;
    }
    await endOnServer(renewed.accessToken).catch((err: unknown) => {
      if (!ALREADY_ENDED.has(errorReason(err))) throw err;
    });
  }

  private save(pair: IssuedPair, userId: string) {
    const now = this.now();
    this.store.save({
      accessToken: pair.accessToken,
      expiresAt: now + pair.expiresIn * 1000,
      refreshToken: pair.refreshToken,
      refreshExpiresAt: now + pair.refreshExpiresIn * 1000,
      userId,
    });
    this.generation++;
  }

  /** auth.refresh with the stored refresh token; a silent login when there is none or it fails. */
  private async renew(): Promise<unknown> {
    const stored = this.store.get();
    if (stored?.refreshToken && stored.refreshExpiresAt > this.now()) {
      try {
        this.save(await this.api.auth.refresh.mutate({ refreshToken: stored.refreshToken }), stored.userId);
        return;
      } catch (err) {
        // Expired, revoked, reused, or a banned user: only a fresh login can tell. Network errors end here.
        const reason = errorReason(err);
        if (reason === 'NETWORK' || reason === 'TIMEOUT') throw err;
      }
    }
    return this.run();
  }

  private async run(): Promise<LoginResult> {
    const code = await this.loginCode();
    try {
      const login = await this.api.auth.login.mutate(code === undefined ? {} : { code });
      this.save(login, login.user.id);
      return { user: login.user, isNewUser: login.isNewUser };
    } catch (err) {
      const ticket = errorData(err)?.registrationTicket;
      if (errorReason(err) !== 'USER_NOT_REGISTERED' || !ticket) throw err;
      const data = this.onRegister ? await this.onRegister({ registrationTicket: ticket }) : null;
      if (!data) throw new MiniProgramClientError('REGISTRATION_DECLINED', 'This WeChat user has no account and registration was declined');
      const registered = await this.api.auth.register.mutate({ ...data, registrationTicket: ticket });
      this.save(registered, registered.user.id);
      return { user: registered.user, isNewUser: true };
    }
  }
}
