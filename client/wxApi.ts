/**
 * The part of the mini program's `wx` object the client uses. Structural, so tests can pass a
 * stand-in; client/wxApi.check.ts proves the real `wx` (miniprogram-api-typings) satisfies it.
 */
export interface WxRequestSuccess {
  statusCode: number;
  data: unknown;
  header: Record<string, string>;
}

export interface WxRequestOptions {
  url: string;
  method?: 'GET' | 'POST';
  header?: Record<string, string>;
  data?: string;
  /** 'text': hand us the raw body; we parse JSON ourselves so bad JSON becomes a typed error. */
  dataType?: string;
  responseType?: 'text';
  timeout?: number;
  success?: (res: WxRequestSuccess) => void;
  fail?: (err: { errMsg: string }) => void;
}

export interface WxRequestTask {
  abort(): void;
}

export interface WxApi {
  request(options: WxRequestOptions): WxRequestTask;
  login(options: { timeout?: number; success?: (res: { code: string }) => void; fail?: (err: { errMsg: string }) => void }): void;
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, data: unknown): void;
  removeStorageSync(key: string): void;
}
