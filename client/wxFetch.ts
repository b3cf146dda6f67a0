import { MiniProgramClientError } from './errors';
import type { WxApi, WxRequestSuccess } from './wxApi';

/** What tRPC's http links pass to fetch: a plain headers object, a string body, maybe a signal. */
export interface WxFetchInit {
  method?: string;
  headers?: unknown;
  body?: unknown;
  signal?: unknown;
}

interface AbortSignalLike {
  aborted: boolean;
  reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
}

/** The subset of a fetch Response that tRPC reads. */
export interface WxResponse {
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
}

function headerRecord(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers || typeof headers !== 'object') return out;
  const entries: Iterable<[string, string]> =
    typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function'
      ? (headers as Iterable<[string, string]>)
      : Object.entries(headers as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string');
  for (const [k, v] of entries) out[k] = v;
  return out;
}

function toResponse(res: WxRequestSuccess): WxResponse {
  const text = typeof res.data === 'string' ? res.data : JSON.stringify(res.data ?? null);
  const lower: Record<string, string> = {};
  for (const k of Object.keys(res.header ?? {})) lower[k.toLowerCase()] = String(res.header[k]);
  return {
    ok: res.statusCode >= 200 && res.statusCode < 300,
    status: res.statusCode,
    headers: { get: (name) => lower[name.toLowerCase()] ?? null },
    text: () => Promise.resolve(text),
    json: () => {
      try {
        return Promise.resolve(JSON.parse(text) as unknown);
      } catch {
        return Promise.reject(
          new MiniProgramClientError('BAD_RESPONSE', `The server answered HTTP ${res.statusCode} with something that is not JSON`, res.statusCode),
        );
      }
    },
  };
}

function abortError(reason: unknown): unknown {
  if (reason !== undefined) return reason;
  const error = new Error('The request was aborted');
  error.name = 'AbortError';
  return error;
}

/**
 * A fetch for tRPC's own http links, over wx.request. Bodies are taken as text and parsed here,
 * so a body that is not JSON is a typed BAD_RESPONSE; wx.request's fail is NETWORK or TIMEOUT.
 */
export function createWxFetch(wx: Pick<WxApi, 'request'>, opts: { timeoutMs?: number } = {}) {
  return (input: unknown, init: WxFetchInit = {}): Promise<WxResponse> =>
    new Promise<WxResponse>((resolve, reject) => {
      const signal = init.signal as AbortSignalLike | undefined | null;
      if (signal?.aborted) {
        reject(abortError(signal.reason));
        return;
      }
      let settled = false;
      const method = String(init.method ?? 'GET').toUpperCase() === 'POST' ? 'POST' : 'GET';
      const task = wx.request({
        url: String(input),
        method,
        header: headerRecord(init.headers),
        data: typeof init.body === 'string' ? init.body : undefined,
        dataType: 'text',
        responseType: 'text',
        timeout: opts.timeoutMs ?? 15_000,
        success(res) {
          settled = true;
          resolve(toResponse(res));
        },
        fail(err) {
          settled = true;
          const msg = err?.errMsg ?? 'request:fail';
          reject(
            /time ?out/i.test(msg)
              ? new MiniProgramClientError('TIMEOUT', `The server did not answer in time (${msg})`)
              : new MiniProgramClientError('NETWORK', `The server could not be reached (${msg})`),
          );
        },
      });
      signal?.addEventListener(
        'abort',
        () => {
          if (settled) return;
          settled = true;
          task.abort();
          reject(abortError(signal.reason));
        },
        { once: true },
      );
    });
}
