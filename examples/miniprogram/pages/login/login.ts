import type { ExampleApp, Profile } from '../../app';
import type { UserOutput } from '../../lib/wxlogin-client';

const app = getApp<ExampleApp>();

Page({
  data: {
    loading: false,
    user: null as UserOutput | null,
    isNewUser: false,
    error: '', // the error reason of the last failed login, '' if none
    // The registration form, shown while the app waits for the new user's profile.
    needProfile: false,
    nickName: '',
    avatarUrl: '',
  },
  /** Opened by the app because an API call elsewhere found a new user: go back when done. */
  openedForProfile: false,

  onLoad() {
    app.onProfileWanted = () => this.setData({ needProfile: true });
    if (app.profileRequest) {
      this.openedForProfile = true;
      this.setData({ needProfile: true });
    }
  },

  onUnload() {
    app.onProfileWanted = null;
    if (this.data.needProfile) app.answerProfile(null); // left without registering: that is a no
  },

  async onLoginTap() {
    if (this.data.loading) return;
    this.setData({ loading: true, error: '' });
    try {
      // wx.login → auth.login; for a new user the app's onRegister shows the form below first.
      const { user, isNewUser } = await app.client.login();
      this.setData({ loading: false, needProfile: false, user, isNewUser });
      wx.showToast({ title: isNewUser ? 'Welcome!' : 'Welcome back', icon: 'success' });
    } catch (err) {
      const { reason, message } = app.describeError(err);
      this.setData({ loading: false, needProfile: false, error: reason });
      wx.showToast({ title: message, icon: 'none' });
    }
  },

  // <button open-type="chooseAvatar">: the chosen avatar as a temporary local file.
  onChooseAvatar(e: WechatMiniprogram.CustomEvent<{ avatarUrl: string }>) {
    this.setData({ avatarUrl: e.detail.avatarUrl });
  },

  // <input type="nickname">: typed, or WeChat's nickname picked from the keyboard.
  onNickname(e: WechatMiniprogram.CustomEvent<{ value: string }>) {
    this.setData({ nickName: e.detail.value });
  },

  onRegisterTap() {
    const nickName = (this.data.nickName || '').trim();
    if (!nickName) {
      wx.showToast({ title: 'Please enter a nickname', icon: 'none' });
      return;
    }
    const profile: Profile = { nickName };
    // chooseAvatar gives a temporary local path (wxfile://… or http://tmp/…), which the server
    // rejects: it takes https URLs only. Uploading the file (wx.uploadFile to your storage, then
    // send its https URL) is a later step; until then an avatar is only sent when it is https.
    if (/^https:\/\//.test(this.data.avatarUrl)) profile.avatarUrl = this.data.avatarUrl;
    this.setData({ needProfile: false });
    app.answerProfile(profile);
    if (this.openedForProfile) wx.navigateBack();
  },

  onCancelTap() {
    this.setData({ needProfile: false });
    app.answerProfile(null); // the login fails with REGISTRATION_DECLINED
    if (this.openedForProfile) wx.navigateBack();
  },

  onContinueTap() {
    wx.navigateTo({ url: '/pages/index/index' });
  },
});
