import type { ExampleApp } from '../../app';

const app = getApp<ExampleApp>();

// The example module (server/modules/notes) from the phone: the same client and the same automatic
// login as auth.me; its procedures and its reason are typed from the server's router like the core's.
Page({
  data: {
    notes: [] as { id: string; text: string }[],
    text: '',
    error: '',
  },

  onLoad() {
    return this.refresh();
  },

  async refresh() {
    try {
      const notes = await app.client.api.notes.list.query({ limit: 20 });
      this.setData({ notes: notes.map((n) => ({ id: n.id, text: n.text })), error: '' });
    } catch (err) {
      this.showError(err);
    }
  },

  onInput(e: WechatMiniprogram.Input) {
    this.setData({ text: e.detail.value });
  },

  async onAddTap() {
    try {
      await app.client.api.notes.create.mutate({ text: this.data.text });
      this.setData({ text: '' });
      await this.refresh();
    } catch (err) {
      this.showError(err);
    }
  },

  async onDeleteTap(e: WechatMiniprogram.TouchEvent<Record<string, never>, Record<string, never>, { id: string }>) {
    try {
      await app.client.api.notes.delete.mutate({ id: e.currentTarget.dataset.id });
    } catch (err) {
      // The module's own reason, switched on like the core's: deleted elsewhere, so done too.
      if (app.describeError(err).reason !== 'NOTE_NOT_FOUND') return this.showError(err);
    }
    return this.refresh();
  },

  showError(err: unknown) {
    const { reason, message } = app.describeError(err);
    this.setData({ error: reason });
    wx.showToast({ title: message, icon: 'none' });
  },
});
