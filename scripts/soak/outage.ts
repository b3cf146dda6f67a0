import { randomBytes } from 'node:crypto';
import { Checks, secs } from './checks';
import { Cleanup, describeLogLine, pingDatabase, serverEnv, sleep, socketsOnPort, startDatabase, startServerChild, startSimulator, tempDir } from './harness';
import { CLIENT_TIMEOUT_MS, callProcedure, healthz, isServerFailure, Tally, type CallResult, type LoginOutput } from './trpc';

export interface OutageOptions {
  clients: number;
  /** Load before the database is stopped. */
  beforeSeconds: number;
  /** How long the database stays down. */
  downSeconds: number;
  /** Load after the restart, at least (and at most twice as long while waiting for a first success). */
  afterSeconds: number;
}

/** Recovery bound: the first success must come within this after the database is back. */
const RECOVERY_LIMIT_MS = 15_000;
const HEALTH_EVERY_MS = 250;

interface Timed extends CallResult {
  procedure: string;
}

/**
 * Database outage: the server (a child process) under load that reaches the database (logins of
 * returning users, user.sessions), the database stopped, then started again on the same port and
 * directory. While it is down calls must fail with 503 SERVICE_UNAVAILABLE and /healthz must say
 * 503; after it is back calls must succeed again, without restarting the server.
 */
export async function runOutagePhase(checks: Checks, opts: OutageOptions): Promise<void> {
  const cleanup = new Cleanup();
  try {
    console.log(`\n== outage: ${opts.clients} clients; database stopped after ${opts.beforeSeconds} s for ${opts.downSeconds} s, then restarted ==`);
    const db = await startDatabase(tempDir('db', cleanup), cleanup);
    const wx = await startSimulator(cleanup);
    // The driver's connection events, and the monitor's state should a heartbeat hang (see driverTrace.ts).
    const trace = { SOAK_DRIVER_TRACE: process.env.SOAK_DRIVER_TRACE || 'events' };
    const server = await startServerChild(serverEnv(db, wx, trace), tempDir('cwd', cleanup), cleanup);
    console.log(`  server pid ${server.pid} at ${server.url}; database ${db.uri} in ${db.dir}`);

    // Users to work with, each with a token.
    const users: { openid: string; token: string }[] = [];
    await Promise.all(
      Array.from({ length: opts.clients * 4 }, async (_, i) => {
        const openid = `o_outage_${i}_${randomBytes(4).toString('hex')}`;
        const r = await callProcedure(server.url, 'mutation', 'auth.login', { code: wx.sim.app.login(openid) });
        if (r.status !== 200) throw new Error(`seeding user ${openid} failed: ${r.status} ${r.reason} ${r.body ?? ''}`);
        users.push({ openid, token: (r.data as LoginOutput).accessToken });
      }),
    );

    const t0 = performance.now();
    const results: Timed[] = [];
    const health: { startedAt: number; endedAt: number; status: number }[] = [];
    let running = true;

    const client = async (index: number) => {
      for (let n = 0; running && !server.exited(); n++) {
        const user = users[(index + n * opts.clients) % users.length]!;
        if (n % 2 === 0) {
          const r = await callProcedure(server.url, 'mutation', 'auth.login', { code: wx.sim.app.login(user.openid) });
          if (r.status === 200) user.token = (r.data as LoginOutput).accessToken;
          results.push({ ...r, procedure: 'auth.login' });
        } else {
          results.push({ ...(await callProcedure(server.url, 'query', 'user.sessions', undefined, { token: user.token })), procedure: 'user.sessions' });
        }
      }
    };
    const poller = async () => {
      while (running && !server.exited()) {
        const startedAt = performance.now();
        const status = await healthz(server.url);
        health.push({ startedAt, endedAt: performance.now(), status });
        await sleep(HEALTH_EVERY_MS);
      }
    };
    const load = Promise.all([...Array.from({ length: opts.clients }, (_, i) => client(i)), poller()]);

    let stopBegin = 0;
    let stopDone = 0;
    let restartBegin = 0;
    let restartDone = 0;
    let firstSuccess: Timed | undefined;
    try {
      await sleep(opts.beforeSeconds * 1000);
      stopBegin = performance.now();
      await db.stop();
      stopDone = performance.now();
      console.log(`  database stopped at ${rel(stopDone)} (took ${secs(stopDone - stopBegin)})`);
      await sleep(opts.downSeconds * 1000);
      const held = socketsOnPort(db.port);
      if (held.length) console.log(`  before the restart, port ${db.port} has: ${held.slice(0, 6).join('; ')}`);
      restartBegin = performance.now();
      await db.restart();
      restartDone = performance.now();
      console.log(`  database started again on port ${db.port} at ${rel(restartDone)} (took ${secs(restartDone - restartBegin)})`);
      // Is it really back? A fresh connection from here, and who holds the port.
      console.log(`  a fresh connection to the restarted database: ${await pingDatabase(db.uri)}; port ${db.port}: ${socketsOnPort(db.port).slice(0, 6).join('; ') || 'no sockets'}`);
      const until = restartDone + opts.afterSeconds * 1000;
      const hardStop = restartDone + Math.max(opts.afterSeconds * 2, RECOVERY_LIMIT_MS / 1000 + 2) * 1000;
      for (;;) {
        firstSuccess ??= results.filter((r) => r.status === 200 && r.endedAt >= restartDone).sort((a, b) => a.endedAt - b.endedAt)[0];
        const now = performance.now();
        if (now >= hardStop || (now >= until && firstSuccess && now >= firstSuccess.endedAt + 3000)) break;
        await sleep(200);
      }
    } finally {
      running = false;
      await load;
    }
    function rel(t: number) {
      return `+${((t - t0) / 1000).toFixed(1)} s`;
    }

    // Windows: before the stop; down (a call started or answered once the database was gone and
    // before it was started again); after (started a second after the first success after the restart).
    const before = results.filter((r) => r.endedAt < stopBegin);
    const down = results.filter((r) => (r.startedAt >= stopDone && r.startedAt < restartBegin) || (r.endedAt > stopDone && r.endedAt < restartBegin));
    const steadyFrom = firstSuccess ? firstSuccess.endedAt + 1000 : Infinity;
    const after = results.filter((r) => r.startedAt >= steadyFrom);
    const tally = (list: Timed[]) => list.reduce((t, r) => (t.add(r), t), new Tally());

    console.log(`  ${results.length} calls in ${secs(performance.now() - t0)}; timeline (second: ok / 503 / other, healthz):`);
    const lastSecond = Math.ceil((performance.now() - t0) / 1000);
    const seconds = Array.from({ length: lastSecond }, (_, second) => {
      const inSecond = results.filter((r) => Math.floor((r.endedAt - t0) / 1000) === second);
      const at = (t: number) => t > 0 && Math.floor((t - t0) / 1000) === second;
      return {
        second,
        ok: inSecond.filter((r) => r.status === 200).length,
        unavailable: inSecond.filter((r) => r.status === 503).length,
        other: inSecond.filter((r) => r.status !== 200 && r.status !== 503).length,
        health: [...new Set(health.filter((x) => Math.floor((x.endedAt - t0) / 1000) === second).map((x) => x.status))],
        marks: [
          at(stopDone) ? ' <- database stopped' : '',
          at(restartDone) ? ' <- database started again' : '',
          firstSuccess && at(firstSuccess.endedAt) ? ' <- first success' : '',
        ].join(''),
      };
    });
    // A run of 3+ seconds without a success or an event is one line (a stuck server makes many).
    for (let i = 0; i < seconds.length; ) {
      let j = i;
      while (j < seconds.length && seconds[j]!.ok === 0 && !seconds[j]!.marks) j++;
      if (j - i >= 3) {
        const run = seconds.slice(i, j);
        const sum = (f: (x: (typeof run)[number]) => number) => run.reduce((a, x) => a + f(x), 0);
        const healthSeen = [...new Set(run.flatMap((x) => x.health))].join(',') || '-';
        console.log(`    ${String(i).padStart(3)}-${j - 1}: 0 ok, ${sum((x) => x.unavailable)} × 503, ${sum((x) => x.other)} other; healthz ${healthSeen}`);
        i = j;
        continue;
      }
      const x = seconds[i]!;
      console.log(`    ${String(x.second).padStart(3)}: ${String(x.ok).padStart(4)} / ${String(x.unavailable).padStart(4)} / ${String(x.other).padStart(3)}   healthz ${x.health.join(',') || '-'}${x.marks}`);
      i += 1;
    }
    const all = tally(results);
    for (const line of all.lines()) console.log(line);
    for (const r of results.filter((x) => isServerFailure(x) || x.status === 0).slice(0, 5)) {
      console.log(`  sample failure: ${r.procedure} at ${rel(r.startedAt)} → ${r.status} ${r.reason} after ${(r.endedAt - r.startedAt).toFixed(0)} ms: ${r.body ?? ''}`);
    }
    if (!firstSuccess && restartDone) {
      console.log(
        `  diagnosis: no success after the restart, though the database answers a fresh connection (above): the server's ` +
          `MongoDB driver has not reconnected (a '[driver …] STUCK' line above shows its server monitor's state)`,
      );
    }
    const errors = server.errorLines();
    console.log(`  server log: ${server.logs.length} lines at warn or above, ${errors.length} at error`);
    for (const line of errors.slice(0, 5)) console.log(`    ${describeLogLine(line)}`);

    const failures = all.count((s, r) => isServerFailure({ status: s, reason: r }));
    checks.check('outage: no HTTP 500 (5xx other than 503 SERVICE_UNAVAILABLE)', failures === 0, `${failures} of ${all.total}`);
    const noAnswer = all.count((s) => s === 0);
    checks.check(
      `outage: no call hung beyond the client timeout (${CLIENT_TIMEOUT_MS / 1000} s)`,
      noAnswer === 0,
      `${noAnswer} without an answer; slowest ${all.maxMs.toFixed(0)} ms`,
    );
    checks.check('outage: calls succeed before the stop', before.length > 0 && before.every((r) => r.status === 200), `${before.filter((r) => r.status === 200).length} of ${before.length} ok`);
    const unavailable = (r: Timed) => r.status === 503 && r.reason === 'SERVICE_UNAVAILABLE';
    const downUnavailable = down.filter(unavailable);
    // A call may still succeed if it was waiting for a server when the database came back, or if
    // it had done its database work before the stop.
    const downOther = down.filter((r) => !unavailable(r) && !(r.status === 200 && (r.endedAt >= restartDone || r.startedAt < stopBegin)));
    const downMs = downUnavailable.map((r) => r.endedAt - r.startedAt);
    checks.check(
      'outage: while down, calls fail with 503 SERVICE_UNAVAILABLE',
      downUnavailable.length > 0 && downOther.length === 0,
      `${down.length} calls: ${downUnavailable.length} × 503 SERVICE_UNAVAILABLE` +
        (downMs.length ? ` (answered in ${Math.min(...downMs).toFixed(0)}-${Math.max(...downMs).toFixed(0)} ms)` : '') +
        `, ${down.length - downUnavailable.length - downOther.length} waited and succeeded after the restart, ${downOther.length} other` +
        (downOther.length ? ` (${[...tally(downOther).byReason].map(([k, c]) => `${k} ${c}`).join(', ')})` : ''),
    );
    const recoveryMs = firstSuccess ? firstSuccess.endedAt - restartDone : Infinity;
    checks.check(
      `outage: calls succeed again without a server restart, within ${RECOVERY_LIMIT_MS / 1000} s`,
      recoveryMs < RECOVERY_LIMIT_MS && !server.exited(),
      firstSuccess ? `first success ${(recoveryMs / 1000).toFixed(2)} s after the database was back (${firstSuccess.procedure}), same pid ${server.pid}` : 'no success after the restart',
    );
    checks.check(
      'outage: after recovery every call succeeds',
      after.length > 0 && after.every((r) => r.status === 200),
      `${after.filter((r) => r.status === 200).length} of ${after.length} ok` +
        (after.some((r) => r.status !== 200) ? ` (${[...tally(after).byReason].map(([k, c]) => `${k} ${c}`).join(', ')})` : ''),
    );
    // Health: polls made well inside the down window, and after recovery.
    const healthDown = health.filter((h) => h.startedAt >= stopDone + 1000 && h.endedAt < restartBegin);
    const healthAfter = health.filter((h) => h.startedAt >= steadyFrom);
    checks.check(
      'outage: /healthz is 503 while down and 200 after',
      healthDown.length > 0 && healthDown.every((h) => h.status === 503) && healthAfter.length > 0 && healthAfter.every((h) => h.status === 200),
      `while down ${summary(healthDown.map((h) => h.status))}; after ${summary(healthAfter.map((h) => h.status))}`,
    );
  } finally {
    await cleanup.runAll();
  }
}

function summary(statuses: number[]): string {
  if (statuses.length === 0) return 'no polls';
  const counts = new Map<number, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, c]) => `${c} × ${s}`).join(', ');
}
