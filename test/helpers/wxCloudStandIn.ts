import type { CallContainerOptions, WxCloudApi } from '../../client/cloudTransport';
import { cloudIdStandIn, type CloudPhone } from '../../server/wechat/simulator/cloudGateway';

/**
 * A cloud-enabled `wx` for tests: `cloud.callContainer` does real HTTP through the gateway stand-in
 * as this phone's user, `cloud.CloudID` marks a cloudID for the gateway, storage is in memory.
 * There is no wx.login and no wx.request: the cloud transport must not need them.
 */
export interface WxCloudStandIn extends WxCloudApi {
  storage: Map<string, unknown>;
  /** callContainer calls so far, by path. */
  calls: string[];
}

export function createWxCloudStandIn(phone: CloudPhone, env: string): WxCloudStandIn {
  const storage = new Map<string, unknown>();
  const calls: string[] = [];
  return {
    storage,
    calls,
    cloud: {
      callContainer(options: CallContainerOptions) {
        calls.push(options.path);
        if (options.config.env !== env) {
          setTimeout(() => options.fail({ errMsg: `cloud.callContainer:fail env ${options.config.env} not found` }), 1);
          return;
        }
        phone
          .callContainer({ path: options.path, method: options.method, header: options.header, data: options.data })
          .then((answer) => {
            // Like callContainer: the body parsed as JSON unless dataType asks for text.
            let data: unknown = answer.text;
            if (options.dataType !== 'text') {
              try {
                data = JSON.parse(answer.text);
              } catch {
                data = answer.text;
              }
            }
            options.success({ statusCode: answer.statusCode, data, header: answer.header });
          })
          .catch((err: { errMsg?: string }) => options.fail({ errMsg: err.errMsg ?? 'cloud.callContainer:fail' }));
      },
      CloudID: cloudIdStandIn,
    },
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, data) => void storage.set(key, JSON.parse(JSON.stringify(data))),
    removeStorageSync: (key) => void storage.delete(key),
  };
}
