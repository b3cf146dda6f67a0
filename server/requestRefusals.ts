import type { FastifyError } from 'fastify';
import type { ErrorReason } from '../shared';

/** A request refused before any handler ran: the status, the reason and a message of ours. */
export interface Refusal {
  status: number;
  reason: ErrorReason;
  message: string;
}

export const JSON_ONLY = 'JSON (Content-Type: application/json)';

/**
 * Fastify's own refusals (a body over the limit, a content type the route does not take, a body
 * that is not JSON ...) as a reason and a fixed message: Fastify's texts describe its internals
 * ("Body is not valid JSON but content-type is set to ..."), and clients switch on the reason.
 * `accepts` says what the route does take. Null for anything that is not such a refusal.
 */
export function refusalOf(error: FastifyError, opts: { bodyLimitBytes: number; accepts?: string }): Refusal | null {
  const status = error.statusCode;
  if (status === undefined || status < 400 || status >= 500) return null;
  if (status === 413) return { status, reason: 'PAYLOAD_TOO_LARGE', message: `The request body is larger than ${opts.bodyLimitBytes} bytes` };
  if (status === 415) return { status, reason: 'UNSUPPORTED_MEDIA_TYPE', message: `Send the body as ${opts.accepts ?? JSON_ONLY}` };
  return { status: 400, reason: 'INVALID_INPUT', message: invalidBodyMessage(error) };
}

function invalidBodyMessage(error: FastifyError): string {
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
