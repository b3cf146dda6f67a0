import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors';
import { isTransientErrcode, weChatErrorFor, WeChatApiError } from './errcodes';
import { exchange, type HttpAnswer } from './httpClient';

export interface WeChatHttpOptions {
  timeoutMs: number;
  /** Extra attempts after the first, on transient failures only. */
  retries: number;
  /** First backoff delay; doubles each attempt, with jitter. */
  backoffMs?: number;
  /** Told about every attempt (for metrics): which API, how long, and how it failed if it did. */
  observe?: (attempt: WeChatAttempt) => void;
}

export interface WeChatAttempt {
  /** The API's path, e.g. /sns/jscode2session (never the query: it carries the secret). */
  endpoint: string;
  durationMs: number;
  /** undefined: success; a number: WeChat's errcode; else what went wrong on the way. */
  failure?: number | 'network' | 'http_status' | 'not_json';
}

/** Transient: a timeout, a connection error, a 5xx, a body that is not JSON, or errcode -1. */
class TransientFailure extends Error {}

/**
 * One call to a WeChat API: JSON in, JSON out. WeChat reports errors as HTTP 200 with a non-zero
 * errcode; those become WeChatApiError. Transient failures are retried with exponential backoff
 * and then become WECHAT_UNAVAILABLE. The URL is never put into an error: it carries the secret.
 */
export async function requestWeChatJson<T extends object>(
  url: string,
  init: { method: 'GET' | 'POST'; body?: object },
  opts: WeChatHttpOptions,
): Promise<T> {
  const backoffMs = opts.backoffMs ?? 100;
  const endpoint = new URL(url).pathname;
  for (let attempt = 0; ; attempt++) {
    const started = performance.now();
    try {
      const result = await attemptOnce<T>(url, init, opts.timeoutMs);
      opts.observe?.({ endpoint, durationMs: performance.now() - started });
      return result;
    } catch (err) {
      opts.observe?.({ endpoint, durationMs: performance.now() - started, failure: failureOf(err) });
      if (err instanceof WeChatApiError && attempt > 0) err.afterRetry = true;
      if (!(err instanceof TransientFailure)) throw err;
      if (attempt >= opts.retries) {
        if (err.cause instanceof AppError) throw err.cause;
        throw new AppError('WECHAT_UNAVAILABLE', 'WeChat could not be reached; try again shortly');
      }
      const delay = backoffMs * 2 ** attempt;
      await sleep(delay / 2 + Math.random() * (delay / 2));
    }
  }
}

async function attemptOnce<T extends object>(url: string, init: { method: 'GET' | 'POST'; body?: object }, timeoutMs: number): Promise<T> {
  let response: HttpAnswer;
  try {
    response = await exchange(url, { method: init.method, body: init.body ? JSON.stringify(init.body) : undefined, timeoutMs });
  } catch {
    throw new TransientFailure('network');
  }
  const { text } = response;
  if (response.status >= 500) throw new TransientFailure(`http ${response.status}`);
  if (response.status !== 200) {
    throw new AppError('WECHAT_ERROR', `WeChat answered with HTTP ${response.status}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new TransientFailure('not json');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TransientFailure('not an object');
  const errcode = (body as { errcode?: unknown }).errcode;
  if (typeof errcode === 'number' && errcode !== 0) {
    if (isTransientErrcode(errcode)) throw new TransientFailure('busy', { cause: weChatErrorFor(errcode) });
    throw weChatErrorFor(errcode);
  }
  return body as T;
}

function failureOf(err: unknown): NonNullable<WeChatAttempt['failure']> {
  if (err instanceof WeChatApiError) return err.errcode;
  if (err instanceof TransientFailure) {
    if (err.cause instanceof WeChatApiError) return err.cause.errcode;
    return err.message === 'network' ? 'network' : err.message.startsWith('http') ? 'http_status' : 'not_json';
  }
  return 'http_status';
}
