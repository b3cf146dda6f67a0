import http from 'node:http';
import type { AppSide } from '../../server/infra/dev/wechatSimulator';
import type { MiniProgramRealm } from './miniProgramRealm';

/**
 * A `wx` for a mini program realm, built inside the realm so the code under test only ever sees
 * the realm's own objects. The I/O happens on the test's side and crosses as strings and numbers:
 * `request` is real HTTP (node:http) to the real server, `login` mints a real code at the WeChat
 * simulator for this phone's user (its app-side helper), storage is an in-memory map of JSON.
 *
 * What the test gets back is this phone from outside: what is stored, what the app did.
 */
export interface WxStandIn {
  openid: string;
  counts: { login: number; request: number };
  /** The value stored under `key`, as the app stored it (a copy), or undefined. */
  stored(key: string): unknown;
  /** Stores `value` under `key`, as wx.setStorageSync would (to age a token, say). */
  store(key: string, value: unknown): void;
  storedKeys(): string[];
  /** Make the next wx.login calls fail, as on a phone without network. */
  failLogins(n: number): void;
  /** Make the next wx.request calls fail without sending anything, as on a phone without network. */
  failRequests(n: number): void;
  /**
   * Answers to requests whose URL contains `urlPart` reach the app only when `release` is called
   * (the request itself is sent at once): to act while a call is in flight.
   */
  hold(urlPart: string): { sent(): Promise<void>; release(): void };
}

export interface WxStandInOptions {
  unionId?: string;
  /**
   * More wx methods (showToast, navigateTo ...): called with a JSON copy of their argument. What
   * one returns, if anything, goes to the caller's `success` (as wx.showModal's { confirm }).
   */
  extras?: Record<string, (arg: unknown) => unknown>;
}

const WX_SOURCE = `(function (host, extraNames) {
  'use strict';
  function call(fn, arg) { if (typeof fn === 'function') fn(arg); }
  var wx = {
    request: function (o) {
      var data = typeof o.data === 'string' ? o.data : o.data == null ? null : JSON.stringify(o.data);
      var abort = host.request(String(o.url), String(o.method || 'GET'), JSON.stringify(o.header || {}), data,
        typeof o.timeout === 'number' ? o.timeout : 60000,
        function (statusCode, text, headerJson) {
          var parsed = text;
          if (o.dataType === undefined || o.dataType === 'json') { try { parsed = JSON.parse(text); } catch (e) { parsed = text; } }
          call(o.success, { statusCode: statusCode, data: parsed, header: JSON.parse(headerJson), errMsg: 'request:ok' });
          call(o.complete, {});
        },
        function (errMsg) { call(o.fail, { errMsg: errMsg }); call(o.complete, {}); });
      return { abort: function () { abort(); } };
    },
    login: function (o) {
      host.login(function (code) { call(o.success, { code: code, errMsg: 'login:ok' }); },
        function (errMsg) { call(o.fail, { errMsg: errMsg }); });
    },
    getStorageSync: function (key) { var v = host.getItem(String(key)); return v === null ? '' : JSON.parse(v); },
    setStorageSync: function (key, value) { host.setItem(String(key), JSON.stringify(value)); },
    removeStorageSync: function (key) { host.removeItem(String(key)); }
  };
  extraNames.split(',').filter(Boolean).forEach(function (name) {
    wx[name] = function (arg) {
      var result = host.extra(name, arg === undefined ? 'null' : JSON.stringify(arg));
      if (typeof result === 'string' && arg) call(arg.success, JSON.parse(result));
    };
  });
  return wx;
})`;

/** One HTTP exchange, as wx.request does it: success with status, text and headers, or fail with an errMsg. */
function request(
  url: string,
  method: string,
  headerJson: string,
  body: string | null,
  timeoutMs: number,
  succeed: (statusCode: number, text: string, headerJson: string) => void,
  fail: (errMsg: string) => void,
): () => void {
  let finished = false;
  const finish = (report: () => void) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    report();
  };
  const req = http.request(url, { method, headers: JSON.parse(headerJson) as Record<string, string> }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => {
      const header: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) header[k] = Array.isArray(v) ? v.join(', ') : v;
      finish(() => succeed(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), JSON.stringify(header)));
    });
    res.on('error', (err) => finish(() => fail(`request:fail ${err.message}`)));
  });
  req.on('error', (err) => finish(() => fail(`request:fail ${err.message}`)));
  const timer = setTimeout(() => {
    finish(() => fail('request:fail timeout'));
    req.destroy();
  }, timeoutMs);
  req.end(body ?? undefined);
  return () => {
    finish(() => fail('request:fail abort'));
    req.destroy();
  };
}

/** Installs `wx` in the realm for a phone whose WeChat user is `openid`. */
export function installWx(realm: MiniProgramRealm, app: AppSide, openid: string, opts: WxStandInOptions = {}): WxStandIn {
  const storage = new Map<string, string>();
  const counts = { login: 0, request: 0 };
  let failingLogins = 0;
  let failingRequests = 0;
  const holds: { urlPart: string; onSent: () => void; held: (() => void)[]; released: boolean }[] = [];
  const extras = opts.extras ?? {};

  const host = {
    request(...args: Parameters<typeof request>) {
      counts.request++;
      if (failingRequests > 0) {
        failingRequests--;
        const fail = args[6];
        setTimeout(() => fail('request:fail net::ERR_INTERNET_DISCONNECTED'), 1);
        return () => {};
      }
      const hold = holds.find((h) => args[0].includes(h.urlPart) && !h.released);
      if (!hold) return request(...args);
      const deliver = (report: () => void) => (hold.released ? report() : hold.held.push(report));
      const [url, method, headerJson, body, timeoutMs, succeed, fail] = args;
      hold.onSent();
      return request(url, method, headerJson, body, timeoutMs, (...r) => deliver(() => succeed(...r)), (e) => deliver(() => fail(e)));
    },
    login(succeed: (code: string) => void, fail: (errMsg: string) => void) {
      counts.login++;
      // Asynchronous like the real one.
      setTimeout(() => {
        if (failingLogins > 0) {
          failingLogins--;
          fail('login:fail network');
          return;
        }
        succeed(app.login(openid, opts.unionId ? { unionId: opts.unionId } : undefined));
      }, 1);
    },
    getItem: (key: string) => storage.get(key) ?? null,
    setItem: (key: string, json: string) => void storage.set(key, json),
    removeItem: (key: string) => void storage.delete(key),
    extra: (name: string, json: string) => {
      const result = extras[name]!(JSON.parse(json));
      return result === undefined ? undefined : JSON.stringify(result);
    },
  };
  const makeWx = realm.evaluate<(h: typeof host, names: string) => unknown>(WX_SOURCE);
  (realm.context as Record<string, unknown>).wx = makeWx(host, Object.keys(extras).join(','));

  return {
    openid,
    counts,
    stored: (key) => (storage.has(key) ? JSON.parse(storage.get(key)!) : undefined),
    store: (key, value) => void storage.set(key, JSON.stringify(value)),
    storedKeys: () => [...storage.keys()],
    failLogins(n) {
      failingLogins = n;
    },
    failRequests(n) {
      failingRequests = n;
    },
    hold(urlPart) {
      let onSent!: () => void;
      const sent = new Promise<void>((resolve) => (onSent = resolve));
      const hold = { urlPart, onSent, held: [] as (() => void)[], released: false };
      holds.push(hold);
      return {
        sent: () => sent,
        release() {
          hold.released = true;
          for (const report of hold.held.splice(0)) report();
        },
      };
    },
  };
}
