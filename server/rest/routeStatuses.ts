/**
 * The error statuses a route can answer besides those of its procedure's own reasons, for the
 * document: what the HTTP edge answers before or around any procedure.
 * - every route: 400 (a malformed URL or request, bad input), 408 (REQUEST_TIMEOUT: the request
 *   did not arrive in time), 431 (headers too large), 500, 503 (SERVICE_UNAVAILABLE);
 * - a route that reads a body: 413 (PAYLOAD_TOO_LARGE) and 415 (UNSUPPORTED_MEDIA_TYPE);
 * - a route that needs a token: 401 and 403 (a banned user).
 */
export function edgeStatuses(route: { method: 'GET' | 'POST'; protect: boolean }): number[] {
  return [400, 408, 431, 500, 503, ...(route.method === 'POST' ? [413, 415] : []), ...(route.protect ? [401, 403] : [])];
}

/** Statuses that no reason's tRPC code gives, with what they mean. */
export const STATUS_WITHOUT_REASON: Record<number, string> = {
  431: 'The request URL or headers are too large (reason INVALID_INPUT)',
};

/** Every status of `lists`, once, in order. */
export const statusUnion = (...lists: readonly (readonly number[])[]): number[] => [...new Set(lists.flat())].sort((a, b) => a - b);
