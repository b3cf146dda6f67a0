import type { WxApi } from './wxApi';

/** What the client keeps in wx storage between launches. Never the session_key: it has none. */
export interface StoredSession {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
  /** Single-use; traded at auth.refresh for a new pair. */
  refreshToken: string;
  refreshExpiresAt: number;
  userId: string;
}

export interface TokenStore {
  get(): StoredSession | null;
  save(session: StoredSession): void;
  clear(): void;
}

export function createWxTokenStore(wx: Pick<WxApi, 'getStorageSync' | 'setStorageSync' | 'removeStorageSync'>, key: string): TokenStore {
  return {
    get() {
      const value = wx.getStorageSync(key) as Partial<StoredSession> | '' | undefined;
      if (!value || typeof value !== 'object' || typeof value.accessToken !== 'string') return null;
      return {
        accessToken: value.accessToken,
        expiresAt: Number(value.expiresAt) || 0,
        refreshToken: typeof value.refreshToken === 'string' ? value.refreshToken : '',
        refreshExpiresAt: Number(value.refreshExpiresAt) || 0,
        userId: String(value.userId ?? ''),
      };
    },
    save: (session) => wx.setStorageSync(key, session),
    clear: () => wx.removeStorageSync(key),
  };
}
