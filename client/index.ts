import { createTRPCClient, httpBatchLink, httpLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../server/root';
import { LoginFlow, type LoginResult, type OnRegister } from './loginFlow';
import { sessionLink } from './sessionLink';
import { createWxTokenStore, type StoredSession } from './tokenStore';
import type { WxApi } from './wxApi';
import { createWxFetch } from './wxFetch';

export interface MiniProgramClientOptions {
  /** The server's tRPC endpoint, e.g. https://api.example.com/trpc (must be in the app's request domains). */
  url: string;
  /** The mini program's `wx` (or a stand-in with the same methods). */
  wx: WxApi;
  /** This mini program's AppID, for a backend that serves several (sent as x-wx-appid). */
  appId?: string;
  /** Asked when the WeChat user has no account: return the fill-in profile (or legacy encrypted data), or null. */
  onRegister?: OnRegister;
  /** wx storage key for the session. */
  storageKey?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Batch calls made in the same tick into one request (default true). */
  batch?: boolean;
}

export interface MiniProgramClient {
  /** The typed API: `await api.auth.me.query()`. Logs in by itself when a call finds no valid session. */
  api: TRPCClient<AppRouter>;
  /** wx.login → auth.login (→ auth.register through onRegister for a new user); keeps the token. */
  login(): Promise<LoginResult>;
  /**
   * Forgets the session on this device and ends it on the server (auth.logout). Rejects, with a
   * reason for errorReason(), when the server could not be told: the device has forgotten the
   * session all the same, but the server still holds it until it expires.
   */
  logout(): Promise<void>;
  /** The stored session, if any. */
  session(): StoredSession | null;
}

export function createMiniProgramClient(opts: MiniProgramClientOptions): MiniProgramClient {
  const store = createWxTokenStore(opts.wx, opts.storageKey ?? 'wxlogin.session');
  const fetch = createWxFetch(opts.wx, { timeoutMs: opts.timeoutMs });
  const http = (withToken: boolean) => {
    const linkOpts = {
      url: opts.url,
      transformer: superjson,
      fetch,
      headers: (): Record<string, string> => {
        const token = withToken ? store.get()?.accessToken : undefined;
        return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(opts.appId ? { 'x-wx-appid': opts.appId } : {}) };
      },
    };
    // A batch of queries puts every input in the URL; split batches before a URL gets too long.
    return opts.batch === false ? httpLink(linkOpts) : httpBatchLink({ ...linkOpts, maxURLLength: 4000 });
  };

  // The login flow talks to the server without the session link, so a failing login cannot loop.
  const sessionless = createTRPCClient<AppRouter>({ links: [http(false)] });
  const endSession = (accessToken: string) =>
    createTRPCClient<AppRouter>({
      links: [httpLink({ url: opts.url, transformer: superjson, fetch, headers: () => ({ authorization: `Bearer ${accessToken}` }) })],
    }).auth.logout.mutate();
  const flow = new LoginFlow(opts.wx, sessionless, store, opts.onRegister);
  const api = createTRPCClient<AppRouter>({ links: [sessionLink(flow), http(true)] });

  return {
    api,
    login: () => flow.login(),
    logout: () => flow.logout(endSession),
    session: () => store.get(),
  };
}

export { errorReason, errorData, MiniProgramClientError } from './errors';
export type { ClientErrorReason, TransportReason } from './errors';
export type { LoginResult, OnRegister, RegistrationData } from './loginFlow';
export type { StoredSession } from './tokenStore';
export type { WxApi } from './wxApi';
export type { AppRouter } from '../server/root';
export type { ErrorReason, UserOutput } from '../shared';
