import { createTRPCClient, httpBatchLink, httpLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../server/root';
import type { CancelDeletionOutput, DeleteAccountOutput } from '../shared/schemas/accountDeletion';
import type { UserOutput } from '../shared/schemas/user';
import { cancelDeletion, deleteAccount } from './accountDeletion';
import { bindPhoneByCloudID } from './cloudPhone';
import { callContainerAsRequest, CONTAINER_ORIGIN, type WxCloudApi } from './cloudTransport';
import { LoginFlow, wxLogin, type LoginResult, type OnRegister } from './loginFlow';
import { sessionLink } from './sessionLink';
import { createWxTokenStore, type StoredSession } from './tokenStore';
import type { WxApi } from './wxApi';
import { createWxFetch } from './wxFetch';

interface CommonOptions {
  /** Asked when the WeChat user has no account: return the fill-in profile (or legacy encrypted data), or null. */
  onRegister?: OnRegister;
  /** wx storage key for the session. */
  storageKey?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Batch calls made in the same tick into one request (default true). */
  batch?: boolean;
  /**
   * The most calls one batched request carries (default 20): the server refuses a larger batch
   * whole (413, TRPC_BATCH_MAX_CALLS), so keep this at or below the server's setting.
   */
  maxBatchCalls?: number;
}

/** Over wx.request to the server's URL, logging in with wx.login. */
export interface HttpsClientOptions extends CommonOptions {
  transport?: 'https';
  /** The server's tRPC endpoint, e.g. https://api.example.com/trpc (must be in the app's request domains). */
  url: string;
  /** The mini program's `wx` (or a stand-in with the same methods). */
  wx: WxApi;
  /** This mini program's AppID, for a backend that serves several (sent as x-wx-appid). */
  appId?: string;
}

/**
 * Over wx.cloud.callContainer to a WeChat Cloud Hosting service (the server runs with
 * WECHAT_CLOUD_HOSTING=true): no wx.login, the gateway tells the server who calls and from which app.
 */
export interface CloudClientOptions extends CommonOptions {
  transport: 'cloud';
  /** The cloud environment id (wx.cloud.init({ env }) and callContainer's config.env). */
  env: string;
  /** The Cloud Hosting service name (sent as X-WX-SERVICE). */
  service: string;
  /** The mini program's `wx`, with cloud capabilities enabled. */
  wx: WxCloudApi;
  /** Where tRPC is in the container (default /trpc). */
  path?: string;
}

export type MiniProgramClientOptions = HttpsClientOptions | CloudClientOptions;

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
  /**
   * Deletes the account: wx.login for the proof of presence, user.deleteAccount, then the session
   * is forgotten on this phone. Answers `{ status: 'deleted' }` or, with a cooling-off period,
   * `{ status: 'scheduled', scheduledFor }`.
   */
  deleteAccount(): Promise<DeleteAccountOutput>;
  /**
   * Cancels a pending deletion (after login() failed with ACCOUNT_DELETION_PENDING): wx.login for
   * the proof, user.cancelDeletion. Then login() works again.
   */
  cancelDeletion(): Promise<CancelDeletionOutput>;
}

export interface CloudMiniProgramClient extends MiniProgramClient {
  /** user.bindPhone with the getPhoneNumber button's cloudID, which WeChat's gateway turns into the number. */
  bindPhoneByCloudID(cloudID: string): Promise<UserOutput>;
}

// The wx.request form first: a `wx` whose type is inferred from the call (a test realm's) gets it.
export function createMiniProgramClient(opts: HttpsClientOptions): MiniProgramClient;
export function createMiniProgramClient(opts: CloudClientOptions): CloudMiniProgramClient;
export function createMiniProgramClient(opts: MiniProgramClientOptions): MiniProgramClient | CloudMiniProgramClient {
  const store = createWxTokenStore(opts.wx, opts.storageKey ?? 'wxlogin.session');
  const timeoutMs = opts.timeoutMs ?? 15_000;
  // The same fetch (and so the same batching, errors and session handling) over either transport.
  const cloud = opts.transport === 'cloud' ? opts : undefined;
  const https = opts.transport === 'cloud' ? undefined : opts;
  const url = cloud ? CONTAINER_ORIGIN + (cloud.path ?? '/trpc') : https!.url;
  const appHeader: Record<string, string> = https?.appId ? { 'x-wx-appid': https.appId } : {};
  const request = cloud ? callContainerAsRequest(cloud.wx, cloud) : https!.wx.request.bind(https!.wx);
  const fetch = createWxFetch({ request }, { timeoutMs });
  const http = (withToken: boolean) => {
    const linkOpts = {
      url,
      transformer: superjson,
      fetch,
      headers: (): Record<string, string> => {
        const token = withToken ? store.get()?.accessToken : undefined;
        return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...appHeader };
      },
    };
    // A batch of queries puts every input in the URL; split batches before a URL gets too long, and
    // before they hold more calls than the server takes in one request.
    return opts.batch === false ? httpLink(linkOpts) : httpBatchLink({ ...linkOpts, maxURLLength: 4000, maxItems: opts.maxBatchCalls ?? 20 });
  };

  // The login flow talks to the server without the session link, so a failing login cannot loop.
  const sessionless = createTRPCClient<AppRouter>({ links: [http(false)] });
  const endSession = (accessToken: string) =>
    createTRPCClient<AppRouter>({
      links: [httpLink({ url, transformer: superjson, fetch, headers: () => ({ authorization: `Bearer ${accessToken}` }) })],
    }).auth.logout.mutate();
  // On Cloud Hosting the login sends no code: the gateway names the user.
  const loginCode = cloud ? () => Promise.resolve(undefined) : () => wxLogin(https!.wx);
  const flow = new LoginFlow(loginCode, sessionless, store, opts.onRegister);
  const api = createTRPCClient<AppRouter>({ links: [sessionLink(flow), http(true)] });

  const client: MiniProgramClient = {
    api,
    login: () => flow.login(),
    logout: () => flow.logout(endSession),
    session: () => store.get(),
    deleteAccount: () => deleteAccount({ api, loginCode, store }),
    cancelDeletion: () => cancelDeletion({ api: sessionless, loginCode, store }),
  };
  if (!cloud) return client;
  return { ...client, bindPhoneByCloudID: (cloudID) => bindPhoneByCloudID({ wx: cloud.wx, container: cloud, store, flow, timeoutMs }, cloudID) };
}

export { errorReason, errorData, MiniProgramClientError } from './errors';
export type { ClientErrorReason, TransportReason } from './errors';
export type { LoginResult, OnRegister, RegistrationData } from './loginFlow';
export type { StoredSession } from './tokenStore';
export type { CancelDeletionOutput, DeleteAccountOutput } from '../shared/schemas/accountDeletion';
export type { WxApi } from './wxApi';
export type { WxCloudApi } from './cloudTransport';
export type { AppRouter } from '../server/root';
export type { DataExportOutput, ErrorReason, MeOutput, UserOutput } from '../shared';
