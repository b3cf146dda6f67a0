import type { ErrorReason } from '../../shared';

/** A request refused before any handler ran: the status, the reason and a message of ours. */
export interface Refusal {
  status: number;
  reason: ErrorReason;
  message: string;
}

export const JSON_ONLY = 'JSON (Content-Type: application/json)';

/**
 * Where a framework's refusal happened, which decides its message (and, for an upload, its
 * reason): Fastify's and Node's texts describe their internals ("Body is not valid JSON but
 * content-type is set to ..."), and clients switch on the reason.
 * - `body`: a route that reads a JSON (or form) body of at most `bodyLimitBytes`; `accepts` names
 *   the body types it takes;
 * - `upload`: POST /avatar, multipart/form-data with one file of at most `maxBytes`;
 * - `url`: Fastify refused the URL before routing;
 * - `socket`: Node refused the request before Fastify saw it.
 */
export type ErrorSite =
  | { kind: 'body'; bodyLimitBytes: number; accepts?: string }
  | { kind: 'upload'; maxBytes: number }
  | { kind: 'url' }
  | { kind: 'socket'; requestTimeoutMs: number };

interface FrameworkError {
  code?: unknown;
  statusCode?: number;
  message: string;
}

/** A framework's refusal at this site as a reason and a fixed message; null for anything else. */
export function refusalOf(error: unknown, site: ErrorSite): Refusal | null {
  if (!(error instanceof Error)) return null;
  const e = error as FrameworkError;
  switch (site.kind) {
    case 'body':
      return bodyRefusal(e, site);
    case 'upload':
      return uploadRefusal(e, site.maxBytes);
    case 'url':
      return e.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? { status: 414, reason: 'INVALID_INPUT', message: 'The request path is too long' }
        : { status: 400, reason: 'INVALID_INPUT', message: 'The request URL is malformed' };
    case 'socket':
      return socketRefusal(e, site.requestTimeoutMs);
  }
}

function bodyRefusal(error: FrameworkError, site: { bodyLimitBytes: number; accepts?: string }): Refusal | null {
  const status = error.statusCode;
  if (status === undefined || status < 400 || status >= 500) return null;
  if (status === 413) return { status, reason: 'PAYLOAD_TOO_LARGE', message: `The request body is larger than ${site.bodyLimitBytes} bytes` };
  if (status === 415) return { status, reason: 'UNSUPPORTED_MEDIA_TYPE', message: `Send the body as ${site.accepts ?? JSON_ONLY}` };
  return { status: 400, reason: 'INVALID_INPUT', message: invalidBodyMessage(error) };
}

function invalidBodyMessage(error: FrameworkError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'The request body is empty';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'The request body does not match its Content-Length';
  }
  // secure-json-parse refuses these keys (prototype poisoning) with a SyntaxError of its own.
  if (/__proto__|prototype|constructor/.test(error.message)) return 'The request body holds a forbidden key (__proto__ or constructor)';
  return 'The request body is not valid JSON';
}

const MULTIPART_ONLY = "Send multipart/form-data with one file field named 'file'";

/** Fastify's and @fastify/multipart's refusals of an upload. */
function uploadRefusal(error: FrameworkError, maxBytes: number): Refusal | null {
  // A driver error's code is a number (11000 ...), and it has no statusCode: not a refusal.
  if (typeof error.code !== 'string') return null;
  const tooLarge: Refusal = { status: 413, reason: 'PAYLOAD_TOO_LARGE', message: `The image is larger than ${maxBytes} bytes` };
  switch (error.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return tooLarge;
    case 'FST_FILES_LIMIT':
      return { status: 400, reason: 'INVALID_INPUT', message: 'Send exactly one file' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return { status: 400, reason: 'INVALID_INPUT', message: MULTIPART_ONLY };
  }
  if (error.statusCode === 413 && error.code.startsWith('FST_ERR_CTP_')) return tooLarge;
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: 400, reason: 'INVALID_INPUT', message: 'The upload is not valid multipart/form-data' };
  }
  return null;
}

/** What Node's HTTP parser refused: every such error is a refusal (Node answers on the socket). */
function socketRefusal(error: FrameworkError, requestTimeoutMs: number): Refusal {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, reason: 'REQUEST_TIMEOUT', message: `The request did not arrive within ${requestTimeoutMs} ms` };
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') return { status: 431, reason: 'INVALID_INPUT', message: 'The request URL or headers are too large' };
  return { status: 400, reason: 'INVALID_INPUT', message: 'The request is not valid HTTP' };
}
