// lib/wxlogin-client.js is the client bundle: `npm run build:client` copies it here.
const { createMiniProgramClient, errorReason } = require('./lib/wxlogin-client.js');
const config = require('./config.js');

// What the user is told, by the client's error reason (errorReason(err) never throws).
const MESSAGES = {
  NETWORK: 'No network, try again',
  TIMEOUT: 'The server is slow, try again',
  WX_LOGIN_FAILED: 'WeChat login failed',
  REGISTRATION_DECLINED: 'Registration cancelled',
  USER_BANNED: 'This account is blocked',
};

App({
  onLaunch() {
    this.client = createMiniProgramClient({
      url: config.url,
      wx,
      // A WeChat user without an account: ask them for a nickname (and avatar), or null to decline.
      onRegister: (req) => this.askForProfile(req),
    });
  },

  /**
   * WeChat gives no profile by itself any more: the user fills it in on the login page (the avatar
   * and nickname fill-in components). This returns a promise the login page settles with
   * answerProfile(): the registration data, or null when the user cancels.
   */
  askForProfile() {
    return new Promise((resolve) => {
      this.profileRequest = resolve;
      if (this.onProfileWanted) this.onProfileWanted(); // the login page is open: show its form
      else wx.navigateTo({ url: '/pages/login/login' }); // asked by an API call from another page
    });
  },

  /** Called by the login page: `profile` is { nickName, avatarUrl? }, or null to decline. */
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
