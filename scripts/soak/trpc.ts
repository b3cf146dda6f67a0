/**
 * A minimal tRPC-over-HTTP caller for load generation: one plain fetch per call (no batching, no
 * client library), superjson envelope `{ json }`, and every outcome reduced to a status and a
 * reason. Transport failures get a status of 0 and a reason of their own (CLIENT_TIMEOUT, NETWORK).
 */
export interface CallResult {
  /** HTTP status; 0 when no response came (timeout, connection error). */
  status: number;
  /** 'ok', the server's `data.reason`, or a transport reason (CLIENT_TIMEOUT, NETWORK, NOT_JSON, NO_REASON). */
  reason: string;
  /** The procedure's output (`result.data.json`) when status is 200. */
  data: unknown;
  startedAt: number;
  endedAt: number;
  /** The start of the body of an answer other than 200, for diagnosis. */
  body?: string;
}

export const CLIENT_TIMEOUT_MS = 10_000;

export async function callProcedure(
  baseUrl: string,
  type: 'query' | 'mutation',
  path: string,
  input?: unknown,
  opts: { token?: string | undefined; timeoutMs?: number } = {},
): Promise<CallResult> {
  const startedAt = performance.now();
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let url = `${baseUrl}/trpc/${path}`;
  let body: string | undefined;
  if (type === 'query') {
    if (input !== undefined) url += `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  } else {
    headers['content-type'] = 'application/json';
    body = JSON.stringify({ json: input ?? null });
  }
  try {
    const res = await fetch(url, {
      method: type === 'query' ? 'GET' : 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? CLIENT_TIMEOUT_MS),
    });
    const text = await res.text();
    const endedAt = performance.now();
    let parsed: { result?: { data?: { json?: unknown } }; error?: { json?: { data?: { reason?: unknown } } } };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      return { status: res.status, reason: 'NOT_JSON', data: undefined, startedAt, endedAt, body: text.slice(0, 300) };
    }
    if (res.status === 200) return { status: 200, reason: 'ok', data: parsed.result?.data?.json, startedAt, endedAt };
    const reason = parsed.error?.json?.data?.reason;
    return { status: res.status, reason: typeof reason === 'string' ? reason : 'NO_REASON', data: undefined, startedAt, endedAt, body: text.slice(0, 300) };
  } catch (err) {
    const name = (err as Error).name;
    const reason = name === 'TimeoutError' || name === 'AbortError' ? 'CLIENT_TIMEOUT' : 'NETWORK';
    return { status: 0, reason, data: undefined, startedAt, endedAt: performance.now(), body: String((err as Error).message).slice(0, 300) };
  }
}

/** GET /healthz: its status (0 when no answer within the timeout). */
export async function healthz(baseUrl: string, timeoutMs = 3000): Promise<number> {
  try {
    const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

export interface LoginOutput {
  accessToken: string;
  isNewUser: boolean;
  user: { id: string; openId: string };
}

/** A 5xx that is not the expected "temporarily unavailable" (503 with a known reason) is a server failure. */
export function isServerFailure(r: Pick<CallResult, 'status' | 'reason'>): boolean {
  if (r.status < 500) return false;
  return !(r.status === 503 && (r.reason === 'SERVICE_UNAVAILABLE' || r.reason === 'WECHAT_UNAVAILABLE'));
}

/** Counts of outcomes, by `status` and by `status reason`. */
export class Tally {
  readonly byStatus = new Map<number, number>();
  readonly byReason = new Map<string, number>();
  total = 0;
  maxMs = 0;
  private latencies: number[] = [];

  add(r: CallResult): void {
    this.total += 1;
    this.byStatus.set(r.status, (this.byStatus.get(r.status) ?? 0) + 1);
    const key = `${r.status} ${r.reason}`;
    this.byReason.set(key, (this.byReason.get(key) ?? 0) + 1);
    const ms = r.endedAt - r.startedAt;
    this.maxMs = Math.max(this.maxMs, ms);
    this.latencies.push(ms);
  }

  count(pred: (status: number, reason: string) => boolean): number {
    let n = 0;
    for (const [key, c] of this.byReason) {
      const space = key.indexOf(' ');
      if (pred(Number(key.slice(0, space)), key.slice(space + 1))) n += c;
    }
    return n;
  }

  percentile(p: number): number {
    if (this.latencies.length === 0) return 0;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  }

  lines(indent = '  '): string[] {
    const statuses = [...this.byStatus].sort((a, b) => a[0] - b[0]).map(([s, c]) => `${s}: ${c}`);
    const reasons = [...this.byReason].sort((a, b) => b[1] - a[1]).map(([k, c]) => `${indent}  ${k.padEnd(34)} ${c}`);
    return [`${indent}by status: ${statuses.join(', ')}`, `${indent}by status and reason:`, ...reasons];
  }
}
