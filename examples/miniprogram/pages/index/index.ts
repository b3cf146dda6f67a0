import type { ExampleApp } from '../../app';
import type { UserOutput } from '../../lib/wxlogin-client';

const app = getApp<ExampleApp>();

Page({
  data: {
    loading: true,
    user: null as UserOutput | null,
    error: '',
  },

  async onLoad() {
    try {
      // Any API call logs in by itself when there is no valid session yet.
      const user = await app.client.api.auth.me.query();
      this.setData({ loading: false, user });
    } catch (err) {
      const { reason, message } = app.describeError(err);
      this.setData({ loading: false, error: reason });
      wx.showToast({ title: message, icon: 'none' });
    }
  },

  async onLogoutTap() {
    try {
      await app.client.logout();
    } catch (err) {
      // This phone has forgotten the session either way; the server was not told, so it lives on
      // there until it expires. Say so rather than pretend.
      wx.showToast({ title: 'Logged out here only (' + app.describeError(err).reason + ')', icon: 'none' });
    }
    wx.reLaunch({ url: '/pages/login/login' });
  },
});
