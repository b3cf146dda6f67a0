import type { ScenarioKey } from './report';

/** What a bench run does, from the environment; every scenario uses the same load settings. */
export interface BenchSettings {
  /** Measured seconds per scenario (BENCH_SECONDS, default 10). */
  seconds: number;
  /** Unmeasured seconds before each scenario (BENCH_WARMUP_SECONDS, default 2). */
  warmupSeconds: number;
  /** Concurrent keep-alive connections of the load generator (BENCH_CONNECTIONS, default 32). */
  connections: number;
  /** Users stored for the small returning-user login (BENCH_BASE_USERS, default 1000). */
  baseUsers: number;
  /** Users stored for the large one (BENCH_SCALE_USERS, default 100000). */
  scaleUsers: number;
  /** Sessions stored for the small refresh and uncached auth.me runs (BENCH_BASE_SESSIONS, default 1000). */
  baseSessions: number;
  /** Sessions stored for the large ones (BENCH_SCALE_SESSIONS, default 200000), seeded through the driver. */
  scaleSessions: number;
  /** How many of the stored users the login scenarios log in, round robin (BENCH_HOT_USERS, default 1000). */
  hotUsers: number;
  /** Only these scenarios (BENCH_ONLY, e.g. `baseline,me`; default all); for profiling one path. */
  only: ScenarioKey[] | null;
  /** Rounds of the paired ratios at the end (BENCH_PAIRED_ROUNDS, default 6; 0 skips them). */
  pairedRounds: number;
  /** Seconds per scenario in each paired round (BENCH_PAIRED_SECONDS, default 3). */
  pairedSeconds: number;
  /** Run the production server with --cpu-prof, writing the profile into this directory (BENCH_CPU_PROF). */
  cpuProfileDir: string | null;
}

const SCENARIOS: readonly ScenarioKey[] = [
  'baseline',
  'me',
  'refreshBase',
  'meUncachedBase',
  'loginBase',
  'floor',
  'loginScale',
  'refreshScale',
  'meUncachedScale',
  'register',
];

function positiveInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${name} must be a whole number ≥ ${min}, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

export function loadSettings(): BenchSettings {
  const baseUsers = positiveInt('BENCH_BASE_USERS', 1000);
  const settings: BenchSettings = {
    seconds: positiveInt('BENCH_SECONDS', 10),
    warmupSeconds: positiveInt('BENCH_WARMUP_SECONDS', 2, 0),
    connections: positiveInt('BENCH_CONNECTIONS', 32),
    baseUsers,
    scaleUsers: positiveInt('BENCH_SCALE_USERS', 100_000),
    baseSessions: positiveInt('BENCH_BASE_SESSIONS', 1000),
    scaleSessions: positiveInt('BENCH_SCALE_SESSIONS', 200_000),
    hotUsers: Math.min(positiveInt('BENCH_HOT_USERS', 1000), baseUsers),
    only: scenarioList(process.env.BENCH_ONLY),
    pairedRounds: positiveInt('BENCH_PAIRED_ROUNDS', 6, 0),
    pairedSeconds: positiveInt('BENCH_PAIRED_SECONDS', 3),
    cpuProfileDir: process.env.BENCH_CPU_PROF || null,
  };
  if (settings.scaleUsers < settings.baseUsers) throw new Error('BENCH_SCALE_USERS must be at least BENCH_BASE_USERS');
  if (settings.scaleSessions < settings.baseSessions) throw new Error('BENCH_SCALE_SESSIONS must be at least BENCH_BASE_SESSIONS');
  return settings;
}

function scenarioList(raw: string | undefined): ScenarioKey[] | null {
  if (!raw) return null;
  const keys = raw.split(',').map((k) => k.trim());
  const unknown = keys.filter((k) => !SCENARIOS.includes(k as ScenarioKey));
  if (unknown.length) throw new Error(`BENCH_ONLY names unknown scenarios ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  return keys as ScenarioKey[];
}
