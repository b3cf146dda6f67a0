import type { WxApi, WxRequestOptions } from '../../client/wxApi';
import type { AppSide } from '../../server/wechat/simulator';

/**
 * A `wx` for tests: `request` does real HTTP (to the real server), `login` gets a real code from
 * the WeChat simulator for this phone's user, storage is in memory. Counts what the app did.
 */
export interface WxStandIn extends WxApi {
  openid: string;
  storage: Map<string, unknown>;
  counts: { login: number; request: number };
  /** Make the next wx.login calls fail, as on a phone without network. */
  failLogins(n: number): void;
}

export function createWxStandIn(app: AppSide, openid: string, opts: { unionId?: string } = {}): WxStandIn {
  const storage = new Map<string, unknown>();
  const counts = { login: 0, request: 0 };
  let failingLogins = 0;

  function request(options: WxRequestOptions) {
    counts.request++;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('timeout')), options.timeout ?? 60_000);
    fetch(options.url, {
      method: options.method ?? 'GET',
      headers: options.header,
      body: options.data,
      signal: controller.signal,
    })
      .then(async (res) => {
        const text = await res.text();
        const header: Record<string, string> = {};
        res.headers.forEach((v, k) => (header[k] = v));
        // Like wx.request with dataType other than 'json': the body as text.
        options.success?.({ statusCode: res.status, data: text, header });
      })
      .catch((err: unknown) => {
        const aborted = controller.signal.aborted;
        const reason = controller.signal.reason as Error | undefined;
        options.fail?.({
          errMsg: aborted && reason?.message === 'timeout' ? 'request:fail timeout' : aborted ? 'request:fail abort' : `request:fail ${(err as Error).message}`,
        });
      })
      .finally(() => clearTimeout(timer));
    return { abort: () => controller.abort(new Error('abort')) };
  }

  return {
    openid,
    storage,
    counts,
    failLogins(n) {
      failingLogins = n;
    },
    request,
    login(options) {
      counts.login++;
      // Asynchronous like the real one.
      setTimeout(() => {
        if (failingLogins > 0) {
          failingLogins--;
          options.fail?.({ errMsg: 'login:fail network' });
          return;
        }
        options.success?.({ code: app.login(openid, opts.unionId ? { unionId: opts.unionId } : undefined) });
      }, 1);
    },
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, data) => void storage.set(key, JSON.parse(JSON.stringify(data))),
    removeStorageSync: (key) => void storage.delete(key),
  };
}
