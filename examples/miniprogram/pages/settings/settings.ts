import type { ExampleApp } from '../../app';

const app = getApp<ExampleApp>();

/** wx.showModal as a promise: true when the user confirmed. */
function confirm(title: string, content: string): Promise<boolean> {
  return new Promise((resolve) => {
    wx.showModal({
      title,
      content,
      confirmText: 'Delete',
      confirmColor: '#e64340',
      success: (res) => resolve(res.confirm),
      fail: () => resolve(false),
    });
  });
}

// "Delete my account" (注销账号): the client does the wx.login that proves the user is present,
// the server deletes (or schedules, with a cooling-off period), and the phone forgets the session.
Page({
  data: {
    error: '',
  },

  async onDeleteAccountTap() {
    const sure = await confirm('Delete my account', 'Your account and everything stored about you will be deleted. This cannot be undone.');
    if (!sure) return;
    try {
      const result = await app.client.deleteAccount();
      const title = result.status === 'deleted' ? 'Account deleted' : 'Deletion scheduled for ' + result.scheduledFor.toLocaleDateString();
      wx.showToast({ title, icon: 'none' });
      wx.reLaunch({ url: '/pages/login/login' });
    } catch (err) {
      const { reason, message } = app.describeError(err);
      this.setData({ error: reason });
      wx.showToast({ title: message, icon: 'none' });
    }
  },
});
