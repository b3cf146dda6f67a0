import type { LoadResult } from './load';
import type { Ratio, ScenarioKey } from './report';

/**
 * Paired rounds: a ratio measured again as short runs of its two scenarios taken in turn
 * (A B, B A, A B, ...), one ratio per round, and their median. This VM's speed drifts within a
 * run (the same `ping` did 2,000 req/s in one minute and 3,900 in the next), so two scenarios
 * measured a minute apart can see different machines; taken in turn, each round's two halves see
 * the same one, and alternating the order cancels a steady drift. The single-run ratios stay in the
 * report beside these.
 */
export interface PairedRatio {
  name: string;
  numerator: ScenarioKey;
  denominator: ScenarioKey;
  target: number;
  /** numerator req/s / denominator req/s of each round, in order. */
  rounds: number[];
  median: number | null;
  pass: boolean;
  why?: string;
}

/** Scenarios that can run again at the end, in the state the run leaves, and mean the same. */
export const REPEATABLE: ReadonlySet<ScenarioKey> = new Set(['baseline', 'me', 'refreshBase', 'meUncachedBase', 'loginBase', 'floor']);

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function measurePairedRatios(
  ratios: Pick<Ratio, 'name' | 'numerator' | 'denominator' | 'target'>[],
  opts: {
    rounds: number;
    /** Runs one scenario (measured earlier in this run) for a round's seconds. */
    run: (key: ScenarioKey) => Promise<LoadResult>;
    log: (line: string) => void;
  },
): Promise<PairedRatio[]> {
  const out: PairedRatio[] = [];
  for (const r of ratios) {
    const rounds: number[] = [];
    let why: string | undefined;
    for (let i = 0; i < opts.rounds && !why; i++) {
      const order = i % 2 === 0 ? [r.numerator, r.denominator] : [r.denominator, r.numerator];
      const got = new Map<ScenarioKey, LoadResult>();
      for (const key of order) {
        const result = await opts.run(key);
        const attempts = result.responses + result.errors;
        if (attempts === 0 || (result.non2xx + result.errors) / attempts > 0.01) why = `more than 1% failed requests in ${key}`;
        got.set(key, result);
      }
      const num = got.get(r.numerator);
      const den = got.get(r.denominator);
      if (!why && num && den && den.okPerSecond > 0) rounds.push(num.okPerSecond / den.okPerSecond);
    }
    const m = median(rounds);
    opts.log(`paired ${r.name}: ${rounds.map((x) => x.toFixed(2)).join(', ')} → median ${m?.toFixed(2) ?? 'n/a'}${why ? ` (${why})` : ''}`);
    out.push({ ...r, rounds, median: m, pass: !why && m !== null && m >= r.target, ...(why ? { why } : {}) });
  }
  return out;
}
