// lib/wxlogin-client.js and lib/wxlogin-client.d.ts are the client and its types:
// `npm run build:client` copies them here.
import { createMiniProgramClient, errorReason } from './lib/wxlogin-client';
import type { ClientErrorReason, MiniProgramClient, RegistrationData } from './lib/wxlogin-client';
import { url } from './config';

/** The fill-in profile a new user gives on the login page. */
export type Profile = NonNullable<RegistrationData['profile']>;

/** The app object, as pages get it: `getApp<ExampleApp>()`. */
export interface ExampleApp {
  client: MiniProgramClient;
  /** Settles the client's pending onRegister question; set while it waits for the login page. */
  profileRequest: ((data: RegistrationData | null) => void) | null;
  /** Set by an open login page: show the registration form. */
  onProfileWanted: (() => void) | null;
  askForProfile(): Promise<RegistrationData | null>;
  answerProfile(profile: Profile | null): void;
  describeError(err: unknown): { reason: ClientErrorReason; message: string };
}

// What the user is told, by the client's error reason (errorReason(err) never throws).
const MESSAGES: Partial<Record<ClientErrorReason, string>> = {
  NETWORK: 'No network, try again',
  TIMEOUT: 'The server is slow, try again',
  WX_LOGIN_FAILED: 'WeChat login failed',
  REGISTRATION_DECLINED: 'Registration cancelled',
  USER_BANNED: 'This account is blocked',
};

App<ExampleApp>({
  // Made once, when the app starts; any API call logs in by itself when there is no valid session.
  client: createMiniProgramClient({
    url,
    wx,
    // A WeChat user without an account: ask them for a nickname (and avatar), or null to decline.
    onRegister: () => getApp<ExampleApp>().askForProfile(),
  }),
  profileRequest: null,
  onProfileWanted: null,

  /**
   * WeChat gives no profile by itself any more: the user fills it in on the login page (the avatar
   * and nickname fill-in components). This returns a promise the login page settles with
   * answerProfile(): the registration data, or null when the user cancels.
   */
  askForProfile() {
    return new Promise<RegistrationData | null>((resolve) => {
      this.profileRequest = resolve;
      if (this.onProfileWanted) this.onProfileWanted(); // the login page is open: show its form
      else wx.navigateTo({ url: '/pages/login/login' }); // asked by an API call from another page
    });
  },

  /** Called by the login page with the profile, or null to decline. */
  answerProfile(profile) {
    const resolve = this.profileRequest;
    this.profileRequest = null;
    if (resolve) resolve(profile ? { profile } : null);
  },

  /** The reason (for code) and a short message (for a toast) of any client error. */
  describeError(err) {
    const reason = errorReason(err);
    return { reason, message: MESSAGES[reason] || 'Something went wrong (' + reason + ')' };
  },
});
