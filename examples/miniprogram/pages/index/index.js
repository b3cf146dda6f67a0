const app = getApp();

Page({
  data: {
    loading: true,
    user: null,
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

  onLogoutTap() {
    app.client.logout();
    wx.reLaunch({ url: '/pages/login/login' });
  },
});
