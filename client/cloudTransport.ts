import type { WxApi, WxRequestOptions, WxRequestSuccess } from './wxApi';

/**
 * The part of a cloud-enabled mini program's `wx` the Cloud Hosting transport uses: callContainer
 * and storage (no wx.request, no wx.login). client/wxApi.check.ts proves the real `wx` fits.
 */
export interface WxCloudApi extends Pick<WxApi, 'getStorageSync' | 'setStorageSync' | 'removeStorageSync'> {
  cloud: {
    callContainer(options: CallContainerOptions): unknown;
    /** Marks a cloudID so the gateway replaces it with its open data (client/cloudPhone.ts). */
    CloudID(cloudID: string): unknown;
  };
}

export interface CallContainerOptions {
  config: { env: string };
  path: string;
  method?: string;
  header?: Record<string, string>;
  data?: unknown;
  dataType?: string;
  responseType?: string;
  timeout?: number;
  success: (res: WxRequestSuccess) => void;
  fail: (err: { errMsg: string }) => void;
}

/** Where the container is in WeChat Cloud Hosting: its environment and service name. */
export interface CloudContainer {
  env: string;
  service: string;
}

/**
 * tRPC's links build absolute URLs from a base; over callContainer only the path counts. This base
 * is never contacted: `https://container.invalid` + the tRPC path prefix.
 */
export const CONTAINER_ORIGIN = 'https://container.invalid';

const pathOf = (url: string) => url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '') || '/';

/**
 * wx.request's shape over wx.cloud.callContainer, so the client's fetch (client/wxFetch.ts) and
 * everything above it work unchanged: same batching, same errors, same session handling.
 * callContainer cannot be aborted; an aborted call is simply no longer waited for.
 */
export function callContainerAsRequest(wx: WxCloudApi, container: CloudContainer): WxApi['request'] {
  return (options: WxRequestOptions) => {
    wx.cloud.callContainer({
      config: { env: container.env },
      path: pathOf(options.url),
      method: options.method ?? 'GET',
      header: { ...options.header, 'X-WX-SERVICE': container.service },
      data: options.data,
      dataType: options.dataType,
      responseType: options.responseType,
      timeout: options.timeout,
      success: (res) => options.success?.(res),
      fail: (err) => options.fail?.(err),
    });
    return { abort: () => undefined };
  };
}
