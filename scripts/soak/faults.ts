import { randomBytes } from 'node:crypto';
import { openDatabase } from '../../server/db/connection';
import type { FaultKind } from '../../server/infra/dev/wechatSimulator';
import { Checks, mib, secs } from './checks';
import { Cleanup, describeLogLine, serverEnv, startDatabase, startServerChild, startSimulator, tempDir } from './harness';
import { memoryTimeline, rssGrowth, watchMemory } from './memory';
import { callProcedure, isServerFailure, Tally, type CallResult, type LoginOutput } from './trpc';

export interface FaultsOptions {
  seconds: number;
  clients: number;
  /** Share of WeChat jscode2session calls that fail (default 0.01). */
  faultRate: number;
}

/** How many of the server's 5xx bodies to print when something went wrong. */
const SAMPLES = 5;
const VERIFY_BATCH = 500;
const MAX_TOKENS = 2000;
/**
 * 64 clients keep the server saturated, so a call's time is mostly its wait in the queue (seconds
 * on a busy 2-core machine), plus up to three WeChat attempts of 1 s each with backoff under a
 * timeout fault. 20 s is far beyond that: a call without an answer by then is a hang.
 */
const CLIENT_TIMEOUT_MS = 20_000;

/**
 * Faults that count themselves: the simulator reads `kind` exactly once each time it applies a
 * fault (its switch in applyFault), so a getter on `kind` counts the faults served by kind;
 * sim.stats() only counts calls per endpoint.
 */
function countedFaults(counts: Map<string, number>): FaultKind[] {
  const counted = <K extends FaultKind>(label: string, fault: K): K => {
    const { kind, ...rest } = fault;
    return Object.defineProperty({ ...rest }, 'kind', {
      enumerable: true,
      get() {
        counts.set(label, (counts.get(label) ?? 0) + 1);
        return kind;
      },
    }) as K;
  };
  return [
    counted('timeout', { kind: 'timeout' }),
    counted('errcode -1', { kind: 'errcode', errcode: -1 }),
    counted('http500', { kind: 'http500' }),
    counted('garbage', { kind: 'garbage' }),
  ];
}

/**
 * Soak with faults: the server (a child process) under `clients` concurrent clients for
 * `seconds`, logging in returning and new users (auto registration) and calling auth.me, while
 * 1% of WeChat's jscode2session calls fail. Then: no 500s, every acknowledged registration is
 * in the database, RSS flat after warm-up, no error-level log lines.
 */
export async function runFaultsPhase(checks: Checks, opts: FaultsOptions): Promise<void> {
  const cleanup = new Cleanup();
  try {
    console.log(`\n== faults: ${opts.clients} clients for ${opts.seconds} s, ${(opts.faultRate * 100).toFixed(1)}% of jscode2session calls failing ==`);
    const setupStarted = performance.now();
    const db = await startDatabase(tempDir('db', cleanup), cleanup);
    const wx = await startSimulator(cleanup);
    const server = await startServerChild(serverEnv(db, wx), tempDir('cwd', cleanup), cleanup);
    console.log(`  server pid ${server.pid} at ${server.url}; database ${db.uri}; simulator ${wx.url} (set up in ${secs(performance.now() - setupStarted)})`);

    const faultCounts = new Map<string, number>();
    wx.sim.setFaultRate('jscode2session', opts.faultRate, countedFaults(faultCounts));
    wx.sim.resetStats();

    const all = new Tally();
    const byKind = { newUser: new Tally(), returning: new Tally(), me: new Tally() };
    const registered: string[] = [];
    const tokens: string[] = [];
    /** userId → openid of every new-user login the server answered with success. */
    const acknowledged = new Map<string, string>();
    const anomalies: string[] = [];
    const failures: CallResult[] = [];
    let sequence = 0;

    const record = (tally: Tally, r: CallResult) => {
      all.add(r);
      tally.add(r);
      if ((isServerFailure(r) || r.status === 0) && failures.length < SAMPLES) failures.push(r);
    };
    const keepToken = (token: string) => {
      if (tokens.length < MAX_TOKENS) tokens.push(token);
      else tokens[Math.floor(Math.random() * MAX_TOKENS)] = token;
    };
    const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)]!;

    const loadStarted = performance.now();
    const memory = watchMemory(server);
    const deadline = loadStarted + opts.seconds * 1000;
    const client = async () => {
      while (performance.now() < deadline && !server.exited()) {
        const dice = Math.random();
        if (tokens.length > 0 && dice < 0.15) {
          record(byKind.me, await callProcedure(server.url, 'query', 'auth.me', undefined, { token: pick(tokens), timeoutMs: CLIENT_TIMEOUT_MS }));
        } else if (registered.length === 0 || dice < 0.575) {
          const openid = `o_soak_${++sequence}_${randomBytes(4).toString('hex')}`;
          const r = await callProcedure(server.url, 'mutation', 'auth.login', { code: wx.sim.app.login(openid) }, { timeoutMs: CLIENT_TIMEOUT_MS });
          record(byKind.newUser, r);
          if (r.status === 200) {
            const out = r.data as LoginOutput;
            if (!out.isNewUser) anomalies.push(`new openid ${openid} answered isNewUser: false`);
            if (out.user.openId !== openid) anomalies.push(`new openid ${openid} answered as ${out.user.openId}`);
            if (acknowledged.has(out.user.id)) anomalies.push(`user ${out.user.id} acknowledged for ${acknowledged.get(out.user.id)} and ${openid}`);
            acknowledged.set(out.user.id, openid);
            registered.push(openid);
            keepToken(out.accessToken);
          }
        } else {
          const openid = pick(registered);
          const r = await callProcedure(server.url, 'mutation', 'auth.login', { code: wx.sim.app.login(openid) }, { timeoutMs: CLIENT_TIMEOUT_MS });
          record(byKind.returning, r);
          if (r.status === 200) {
            const out = r.data as LoginOutput;
            if (out.isNewUser) anomalies.push(`returning openid ${openid} answered isNewUser: true`);
            keepToken(out.accessToken);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: opts.clients }, client));
    const loadMs = performance.now() - loadStarted;
    await memory.stop();
    const simStats = wx.sim.stats();
    wx.sim.clearFaults();

    // Every acknowledged registration, read back by id straight from the database.
    const verifyStarted = performance.now();
    const missing: string[] = [];
    const mismatched: string[] = [];
    const check = await openDatabase(db.uri, { dbName: db.dbName });
    try {
      const ids = [...acknowledged.keys()];
      for (let i = 0; i < ids.length; i += VERIFY_BATCH) {
        const batch = ids.slice(i, i + VERIFY_BATCH);
        const found = await check.User.find({ _id: { $in: batch } }, { openId: 1 }).lean<{ _id: unknown; openId: string }[]>();
        const byId = new Map(found.map((u) => [String(u._id), u.openId]));
        for (const id of batch) {
          const openId = byId.get(id);
          if (openId === undefined) missing.push(id);
          else if (openId !== acknowledged.get(id)) mismatched.push(id);
        }
      }
    } finally {
      await check.close();
    }
    const verifyMs = performance.now() - verifyStarted;

    // Report.
    console.log(`  load: ${all.total} calls in ${secs(loadMs)} = ${(all.total / (loadMs / 1000)).toFixed(0)} req/s; latency p50 ${all.percentile(50).toFixed(0)} ms, p99 ${all.percentile(99).toFixed(0)} ms, max ${all.maxMs.toFixed(0)} ms`);
    for (const line of all.lines()) console.log(line);
    for (const [name, tally] of Object.entries(byKind)) {
      const statuses = [...tally.byStatus].sort((a, b) => a[0] - b[0]).map(([s, c]) => `${s}: ${c}`).join(', ');
      console.log(`  ${name.padEnd(10)} ${String(tally.total).padStart(6)} calls (${statuses})`);
    }
    console.log(`  WeChat simulator calls (sim.stats()): ${Object.entries(simStats).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const faultTotal = [...faultCounts.values()].reduce((a, b) => a + b, 0);
    console.log(
      `  faults served: ${faultTotal} (${[...faultCounts].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}) = ` +
        `${((faultTotal / Math.max(1, simStats.jscode2session)) * 100).toFixed(2)}% of jscode2session calls`,
    );
    for (const f of failures) console.log(`  sample failure: ${f.status} ${f.reason} ${f.body ?? ''}`);
    for (const a of anomalies.slice(0, SAMPLES)) console.log(`  anomaly: ${a}`);
    const rssResult = rssGrowth(memory, opts.seconds);
    const rssValues = memory.samples.map((s) => s.kib);
    console.log(`  RSS (pid ${server.pid}): ${rssValues.length} samples, min ${mib(Math.min(...rssValues))}, max ${mib(Math.max(...rssValues))}; ${rssResult.unforced}`);
    for (const line of memoryTimeline(memory)) console.log(line);
    const errors = server.errorLines();
    for (const line of errors.slice(0, SAMPLES)) console.log(`  error log line: ${describeLogLine(line)}`);

    const unexpected5xx = all.count((s, r) => isServerFailure({ status: s, reason: r }));
    checks.check('faults: no HTTP 500 (5xx other than 503 SERVICE_UNAVAILABLE/WECHAT_UNAVAILABLE)', unexpected5xx === 0, `${unexpected5xx} of ${all.total}`);
    const transport = all.count((s) => s === 0);
    checks.check(`faults: every call answered within the client timeout (${CLIENT_TIMEOUT_MS / 1000} s)`, transport === 0, `${transport} without an answer; max ${all.maxMs.toFixed(0)} ms`);
    const expected503 = all.count((s) => s === 503);
    const other = all.total - all.count((s) => s === 200) - expected503 - unexpected5xx - transport;
    checks.check('faults: every call succeeded or was a 503', other === 0, `200: ${all.count((s) => s === 200)}, 503: ${expected503}, other: ${other}`);
    // With 2 retries a fault reaches a client only when three attempts in a row fail (~1e-6 at 1%):
    // the faults are absorbed, and a 503 WECHAT_UNAVAILABLE is the rare exception.
    const expectedFaults = simStats.jscode2session * opts.faultRate;
    if (expectedFaults >= 10) {
      checks.check('faults: WeChat faults were served during the soak', faultTotal > 0, `${faultTotal} served, ~${expectedFaults.toFixed(0)} expected`);
    }
    checks.check('faults: answers consistent (isNewUser, openId, one user per new openid)', anomalies.length === 0, `${anomalies.length} anomalies`);
    checks.check(
      'faults: every acknowledged registration is in the database',
      acknowledged.size > 0 && missing.length === 0 && mismatched.length === 0,
      `${acknowledged.size} acknowledged, ${missing.length} missing, ${mismatched.length} with another openid (checked in ${secs(verifyMs)})` +
        (missing.length ? `; missing e.g. ${missing.slice(0, 3).join(', ')}` : ''),
    );
    checks.check(
      `faults: RSS growth under 10% after warm-up`,
      rssResult.ok,
      rssResult.detail,
    );
    checks.check('faults: no error-level log lines', errors.length === 0, `${errors.length} error lines of ${server.logs.length} logged`);
    checks.check('faults: the server stayed up', !server.exited(), `pid ${server.pid}`);
  } finally {
    await cleanup.runAll();
  }
}
