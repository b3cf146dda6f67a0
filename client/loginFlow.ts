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

function wxLogin(wx: WxApi): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({
      timeout: 10_000,
      success: (res) => (res.code ? resolve(res.code) : reject(new MiniProgramClientError('WX_LOGIN_FAILED', 'wx.login gave no code'))),
      fail: (err) => reject(new MiniProgramClientError('WX_LOGIN_FAILED', `wx.login failed (${err?.errMsg ?? 'unknown'})`)),
    });
  });
}

/**
 * The session: log in (wx.login → auth.login, and auth.register when the user is new), keep the
 * token, and re-establish it when the server says it is gone. Logins are single-flight: however
 * many calls ask at once, one wx.login and one auth.login run.
 */
export class LoginFlow {
  /** Bumped whenever a new token is saved, so a call can tell whether its token was already replaced. */
  generation = 0;
  private inFlight: Promise<LoginResult> | null = null;

  constructor(
    private readonly wx: WxApi,
    private readonly api: TRPCClient<AppRouter>,
    private readonly store: TokenStore,
    private readonly onRegister: OnRegister | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  login(): Promise<LoginResult> {
    if (!this.inFlight) {
      this.inFlight = this.run().finally(() => {
        this.inFlight = null;
      });
    }
    return this.inFlight;
  }

  /** After a token error on a call sent under `seenGeneration`: log in again unless someone already did. */
  async reestablish(seenGeneration: number): Promise<void> {
    if (this.generation !== seenGeneration && !this.inFlight) return;
    await this.login();
  }

  logout(): void {
    this.store.clear();
    this.generation++;
  }

  private save(result: { accessToken: string; expiresIn: number; user: UserOutput }) {
    this.store.save({ accessToken: result.accessToken, expiresAt: this.now() + result.expiresIn * 1000, userId: result.user.id });
    this.generation++;
  }

  private async run(): Promise<LoginResult> {
    const code = await wxLogin(this.wx);
    try {
      const login = await this.api.auth.login.mutate({ code });
      this.save(login);
      return { user: login.user, isNewUser: login.isNewUser };
    } catch (err) {
      const ticket = errorData(err)?.registrationTicket;
      if (errorReason(err) !== 'USER_NOT_REGISTERED' || !ticket) throw err;
      const data = this.onRegister ? await this.onRegister({ registrationTicket: ticket }) : null;
      if (!data) throw new MiniProgramClientError('REGISTRATION_DECLINED', 'This WeChat user has no account and registration was declined');
      const registered = await this.api.auth.register.mutate({ ...data, registrationTicket: ticket });
      this.save(registered);
      return { user: registered.user, isNewUser: true };
    }
  }
}
