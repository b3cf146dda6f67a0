/**
 * `npm run soak [-- faults|outage]`: the long-running checks that the unit and e2e tests do not
 * make. Each phase starts its own embedded database (temp dir), WeChat simulator and server (a
 * child process, `node --import tsx server/main.ts`), drives it over HTTP on 127.0.0.1 and prints
 * PASS/FAIL per check; the exit code is 1 when any check failed.
 *
 *   faults   SOAK_SECONDS (60) at SOAK_CLIENTS (64) concurrent clients, 1% of WeChat calls failing
 *   outage   OUTAGE_CLIENTS (8) clients; the database stopped under load for OUTAGE_DOWN_SECONDS (6)
 *            and started again on the same port; load goes on OUTAGE_AFTER_SECONDS (10) after
 *
 * Diagnosis: SOAK_DRIVER_TRACE=verbose (see scripts/soak/driverTrace.ts).
 */
import { Checks } from './soak/checks';
import { Cleanup } from './soak/harness';
import { runFaultsPhase } from './soak/faults';
import { runOutagePhase } from './soak/outage';

const PHASES = ['faults', 'outage'] as const;
type Phase = (typeof PHASES)[number];

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be a whole number in [${min}, ${max}]`);
  return n;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !PHASES.includes(a as Phase));
  if (unknown.length) {
    console.error(`unknown phase ${unknown.join(', ')}: use ${PHASES.join(' and/or ')} (none: both)`);
    return 2;
  }
  const phases: Phase[] = args.length ? PHASES.filter((p) => args.includes(p)) : [...PHASES];
  const checks = new Checks();
  const started = performance.now();
  for (const phase of phases) {
    try {
      if (phase === 'faults') {
        await runFaultsPhase(checks, {
          seconds: intFromEnv('SOAK_SECONDS', 60, 8, 3600),
          clients: intFromEnv('SOAK_CLIENTS', 64, 1, 1024),
          faultRate: 0.01,
        });
      } else {
        await runOutagePhase(checks, {
          clients: intFromEnv('OUTAGE_CLIENTS', 8, 1, 256),
          beforeSeconds: 5,
          downSeconds: intFromEnv('OUTAGE_DOWN_SECONDS', 6, 1, 600),
          afterSeconds: intFromEnv('OUTAGE_AFTER_SECONDS', 10, 5, 600),
        });
      }
    } catch (err) {
      checks.check(`${phase}: ran to the end`, false, (err as Error).stack ?? String(err));
    }
  }
  const total = checks.results.length;
  console.log(`\n${checks.failed === 0 ? 'PASS' : 'FAIL'}: ${total - checks.failed} of ${total} checks passed in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return checks.failed === 0 ? 0 : 1;
}

// Interrupted: stop the server, the database and the simulator, remove the temp dirs, exit.
// A second signal exits at once (the server child is killed on exit; the database exits when
// its stdin, a pipe from this process, closes).
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: cleaning up (again to exit at once)`);
    setTimeout(() => process.exit(130), 30_000).unref();
    void Cleanup.runAllActive().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
