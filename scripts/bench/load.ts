import autocannon from 'autocannon';

/** One load run: the same request (or a fresh one per request, from `body()`) at fixed concurrency. */
export interface LoadSpec {
  /** Base URL, e.g. http://127.0.0.1:3000 */
  url: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** Headers of each request, on top of `headers` (a different access token each time). */
  headersFor?: () => Record<string, string>;
  /** A fixed body, or a function that builds each request's body (a fresh wx.login code each time). */
  body?: string | (() => string);
  connections: number;
  /** Run for this many seconds ... */
  seconds?: number;
  /** ... or until this many responses. */
  amount?: number;
  /** Counts 2xx responses by a label it picks from the body (e.g. a login's isNewUser). */
  classify?: (body: string) => string | undefined;
  /** Sees every 2xx body (a refresh's next refresh token). */
  onOkBody?: (body: string) => void;
}

export interface LoadResult {
  durationS: number;
  /** Responses of any status. */
  responses: number;
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts (no response at all). */
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** 2xx responses per second. */
  okPerSecond: number;
  /** Latency of 2xx responses, in ms, from every response's own timing (not autocannon's whole-ms histogram). */
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number } | null;
  labels: Record<string, number>;
  /** Up to 3 distinct non-2xx answers (status and the start of the body), and connection errors. */
  sampleErrors: string[];
}

let current: autocannon.Instance | undefined;

/** Stops the load run in progress (SIGINT). */
export function stopCurrentLoad(): void {
  current?.stop();
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const labels: Record<string, number> = {};
  const samples = new Map<string, true>();
  const sample = (text: string) => {
    if (samples.size < 3 && !samples.has(text)) samples.set(text, true);
  };
  const makeBody = typeof spec.body === 'function' ? spec.body : undefined;
  const request: autocannon.Request = {
    method: spec.method,
    path: spec.path,
    headers: { ...(spec.body !== undefined ? { 'content-type': 'application/json' } : {}), ...spec.headers },
    ...(typeof spec.body === 'string' ? { body: spec.body } : {}),
    ...(makeBody || spec.headersFor
      ? {
          setupRequest: (req: autocannon.Request) => ({
            ...req,
            ...(makeBody ? { body: makeBody() } : {}),
            ...(spec.headersFor ? { headers: { ...req.headers, ...spec.headersFor() } } : {}),
          }),
        }
      : {}),
    onResponse: (status, body) => {
      if (status >= 200 && status < 300) {
        spec.onOkBody?.(body);
        const label = spec.classify?.(body);
        if (label) labels[label] = (labels[label] ?? 0) + 1;
      } else {
        sample(`HTTP ${status}: ${body.slice(0, 400)}`);
      }
    },
  };

  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.seconds ?? 10 }),
        requests: [request],
        timeout: 10,
      },
      (err, result) => {
        current = undefined;
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const sorted = Float64Array.from(latencies).sort();
        const ok = result['2xx'];
        const statusCodes: Record<string, number> = {};
        for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
        resolve({
          durationS: result.duration,
          responses: ok + result.non2xx,
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes,
          okPerSecond: result.duration > 0 ? ok / result.duration : 0,
          latencyMs: sorted.length
            ? {
                p50: percentile(sorted, 50),
                p90: percentile(sorted, 90),
                p99: percentile(sorted, 99),
                max: sorted[sorted.length - 1]!,
                mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
              }
            : null,
          labels,
          sampleErrors: [...samples.keys()],
        });
      },
    );
    current = instance;
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
    instance.on('reqError', (err: unknown) => sample(`connection error: ${err instanceof Error ? err.message : String(err)}`));
  });
}
