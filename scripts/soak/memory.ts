import { mib } from './checks';
import { rssKiB, sleep, type GcResult, type ServerChild } from './harness';

export interface RssSample {
  /** Seconds since watching started. */
  t: number;
  kib: number;
  /** V8 heap used / total and external memory in KiB, from the server's /metrics (when it answered). */
  heapUsedKiB?: number;
  heapTotalKiB?: number;
  externalKiB?: number;
}

export interface GcSample extends GcResult {
  t: number;
}

export interface MemoryWatch {
  /** /proc RSS every second, as the server runs. */
  samples: RssSample[];
  /** RSS right after a full collection forced every GC_EVERY_S. */
  afterGc: GcSample[];
  stop(): Promise<void>;
}

const GC_EVERY_S = 5;

const gauge = (text: string, name: string): number | undefined => {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
  return match ? Math.round(Number(match[1]) / 1024) : undefined;
};

/**
 * Watches the server's memory: its RSS from /proc/<pid>/status every second (with V8's heap
 * figures from /metrics alongside), and every 5 s its RSS right after a forced full collection.
 */
export function watchMemory(server: ServerChild): MemoryWatch {
  const samples: RssSample[] = [];
  const afterGc: GcSample[] = [];
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let running = true;

  const take = async () => {
    const kib = rssKiB(server.pid);
    if (kib === undefined) return;
    const sample: RssSample = { t: elapsed(), kib };
    samples.push(sample);
    try {
      const text = await (await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(900) })).text();
      sample.heapUsedKiB = gauge(text, 'nodejs_heap_size_used_bytes');
      sample.heapTotalKiB = gauge(text, 'nodejs_heap_size_total_bytes');
      sample.externalKiB = gauge(text, 'nodejs_external_memory_bytes');
    } catch {
      // a busy server: RSS alone for this sample
    }
  };
  void take();
  const timer = setInterval(() => void take(), 1000);

  const collector = (async () => {
    for (let next = GC_EVERY_S; running; next += GC_EVERY_S) {
      while (running && elapsed() < next) await sleep(Math.min(200, (next - elapsed()) * 1000));
      if (!running) break;
      const result = await server.forceGc();
      if (result) afterGc.push({ t: elapsed(), ...result });
    }
  })();

  return {
    samples,
    afterGc,
    async stop() {
      running = false;
      clearInterval(timer);
      await collector;
    },
  };
}

export interface RssVerdict {
  ok: boolean;
  detail: string;
  /** The brief's figures on the RSS as sampled (not after a collection), for the record. */
  unforced: string;
}

/**
 * RSS growth after warm-up (the first 15 s; a quarter of shorter runs): the RSS after a forced
 * full collection at the end of warm-up is the baseline, compared with the max of those taken in
 * the last 15 s. Without the collection the figure is V8's heap sizing, not growth: under this
 * load it keeps 50-100 MiB of live heap in a heap it grows and shrinks between 90 and 150 MiB,
 * so the RSS as sampled swings by ±20 MiB (about 10%) within seconds and is still finding its
 * level at 60 s (measured over 150 s: it peaks near 220 MiB and settles at 170-180 MiB).
 */
export function rssGrowth(watch: MemoryWatch, seconds: number): RssVerdict {
  const window = Math.min(15, seconds / 4);
  const span = (a: number, b: number) => `${a.toFixed(0)}-${b.toFixed(0)} s`;

  const firstRaw = watch.samples.find((s) => s.t >= window);
  const lastRaw = watch.samples.filter((s) => s.t >= seconds - window);
  const unforced =
    firstRaw && lastRaw.length
      ? `as sampled: ${mib(firstRaw.kib)} at ${firstRaw.t.toFixed(0)} s, max of the last ${window.toFixed(0)} s ${mib(Math.max(...lastRaw.map((s) => s.kib)))} ` +
        `(${pct((Math.max(...lastRaw.map((s) => s.kib)) - firstRaw.kib) / firstRaw.kib)})`
      : 'as sampled: too few samples';

  const baseline = watch.afterGc.find((s) => s.t >= window - 0.5);
  const last = watch.afterGc.filter((s) => s.t >= seconds - window && s !== baseline);
  if (!baseline || last.length === 0) return { ok: false, detail: `too few samples after a forced collection (${watch.afterGc.length})`, unforced };
  const peak = last.reduce((a, b) => (b.rssKiB > a.rssKiB ? b : a));
  const growth = (peak.rssKiB - baseline.rssKiB) / baseline.rssKiB;
  return {
    ok: growth < 0.1,
    detail:
      `after a full GC: baseline ${mib(baseline.rssKiB)} at ${baseline.t.toFixed(0)} s (heap used ${mib(baseline.heapUsedKiB)}), ` +
      `max of the last ${window.toFixed(0)} s (${span(seconds - window, seconds)}) ${mib(peak.rssKiB)} (heap used ${mib(peak.heapUsedKiB)}): ${pct(growth)}`,
    unforced,
  };
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

/** Every 10 s: RSS and V8 heap as sampled, and RSS / heap used after the nearest forced collection (MiB). */
export function memoryTimeline(watch: MemoryWatch): string[] {
  const m = (kib: number | undefined) => (kib === undefined ? '-' : (kib / 1024).toFixed(1));
  const lines = ['  memory (MiB)     t    rss  heapUsed  heapTotal  external | after GC:  rss  heapUsed'];
  for (let t = 0; ; t += 10) {
    const s = watch.samples.find((x) => x.t >= t);
    if (!s) break;
    const g = watch.afterGc.find((x) => x.t >= t - 0.5 && x.t < t + 9.5);
    lines.push(
      `               ${String(Math.round(s.t)).padStart(5)} ${m(s.kib).padStart(6)} ${m(s.heapUsedKiB).padStart(9)} ${m(s.heapTotalKiB).padStart(10)} ${m(s.externalKiB).padStart(9)} |` +
        `       ${g ? `${m(g.rssKiB).padStart(6)} ${m(g.heapUsedKiB).padStart(9)} (${g.t.toFixed(0)} s)` : '     -'}`,
    );
  }
  return lines;
}
