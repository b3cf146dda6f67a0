import { CLOUD_ID_MARK, type CloudPhone } from '../../server/infra/dev/wechatSimulator/cloudGateway';
import type { MiniProgramRealm } from './miniProgramRealm';

/**
 * A cloud-enabled `wx` for a mini program realm, built inside the realm like wxStandIn.ts's:
 * `wx.cloud.callContainer` is real HTTP through the gateway stand-in as this phone's user,
 * `wx.cloud.CloudID(id)` marks a cloudID for the gateway, storage is an in-memory map of JSON.
 * There is no wx.login and no wx.request: the cloud transport must not need them.
 */
export interface WxCloudStandIn {
  /** callContainer calls so far, by path. */
  calls: string[];
  stored(key: string): unknown;
  store(key: string, value: unknown): void;
}

const WX_CLOUD_SOURCE = `(function (host, mark) {
  'use strict';
  function call(fn, arg) { if (typeof fn === 'function') fn(arg); }
  function CloudID(cloudID) {
    if (!(this instanceof CloudID)) return new CloudID(cloudID);
    this.cloudID = String(cloudID);
  }
  function body(data) {
    if (typeof data === 'string') return data;
    if (data == null) return null;
    return JSON.stringify(data, function (key, value) {
      if (!(value instanceof CloudID)) return value;
      var marked = {};
      marked[mark] = value.cloudID;
      return marked;
    });
  }
  return {
    cloud: {
      init: function () {},
      CloudID: CloudID,
      callContainer: function (o) {
        var env = o.config && o.config.env;
        host.callContainer(String(env), String(o.path), String(o.method || 'GET'), JSON.stringify(o.header || {}), body(o.data),
          function (statusCode, text, headerJson) {
            var parsed = text;
            if (o.dataType === undefined || o.dataType === 'json') { try { parsed = JSON.parse(text); } catch (e) { parsed = text; } }
            call(o.success, { statusCode: statusCode, data: parsed, header: JSON.parse(headerJson), callID: 'sim', errMsg: 'cloud.callContainer:ok' });
            call(o.complete, {});
          },
          function (errMsg) { call(o.fail, { errMsg: errMsg }); call(o.complete, {}); });
      }
    },
    getStorageSync: function (key) { var v = host.getItem(String(key)); return v === null ? '' : JSON.parse(v); },
    setStorageSync: function (key, value) { host.setItem(String(key), JSON.stringify(value)); },
    removeStorageSync: function (key) { host.removeItem(String(key)); }
  };
})`;

/** Installs `wx` in the realm for a phone behind the gateway, in cloud environment `env`. */
export function installCloudWx(realm: MiniProgramRealm, phone: CloudPhone, env: string): WxCloudStandIn {
  const storage = new Map<string, string>();
  const calls: string[] = [];
  const host = {
    callContainer(
      callEnv: string,
      path: string,
      method: string,
      headerJson: string,
      body: string | null,
      succeed: (statusCode: number, text: string, headerJson: string) => void,
      fail: (errMsg: string) => void,
    ) {
      calls.push(path);
      if (callEnv !== env) {
        setTimeout(() => fail(`cloud.callContainer:fail env ${callEnv} not found`), 1);
        return;
      }
      phone
        .callContainer({ path, method, header: JSON.parse(headerJson) as Record<string, string>, data: body ?? undefined })
        .then((answer) => succeed(answer.statusCode, answer.text, JSON.stringify(answer.header)))
        .catch((err: { errMsg?: string }) => fail(err.errMsg ?? 'cloud.callContainer:fail'));
    },
    getItem: (key: string) => storage.get(key) ?? null,
    setItem: (key: string, json: string) => void storage.set(key, json),
    removeItem: (key: string) => void storage.delete(key),
  };
  const makeWx = realm.evaluate<(h: typeof host, mark: string) => unknown>(WX_CLOUD_SOURCE);
  (realm.context as Record<string, unknown>).wx = makeWx(host, CLOUD_ID_MARK);
  return {
    calls,
    stored: (key) => (storage.has(key) ? JSON.parse(storage.get(key)!) : undefined),
    store: (key, value) => void storage.set(key, JSON.stringify(value)),
  };
}
