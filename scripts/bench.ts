/**
 * `npm run bench`: how fast the production build is under load, in one run with one load
 * generator (autocannon). Builds dist/server/main.mjs, starts the embedded database (a temporary
 * directory of its own), a WeChat simulator in this process and the production server as a child
 * process (NODE_ENV=production, rate limits off, AUTH_REGISTRATION=auto), then measures, each for
 * BENCH_SECONDS at BENCH_CONNECTIONS after BENCH_WARMUP_SECONDS of warm-up:
 *
 *   a. baseline       GET /trpc/ping (a public no-op)
 *   b. me             GET /trpc/auth.me with a valid access token
 *   f. refresh        POST /trpc/auth.refresh, each request with the next token of one of
 *                     BENCH_BASE_SESSIONS sessions (seeded through the driver), round robin
 *   g. me, uncached   GET /trpc/auth.me on a second server process with AUTH_CACHE_TTL_S=0 (every
 *                     call reads its session and user), the access tokens of those sessions
 *   c. login          POST /trpc/auth.login, returning users (a fresh wx.login code and signed,
 *                     encrypted user info per request), with BENCH_BASE_USERS users stored
 *   e. floor          the same body against scripts/bench/floorServer.ts: code2Session + decrypt only
 *   f'. g'.           f and g with BENCH_SCALE_SESSIONS sessions stored (seeded through the driver)
 *   c'. login         as c, with BENCH_SCALE_USERS users stored (seeded through the driver)
 *   d. register       POST /trpc/auth.login for a new WeChat user per request (auto registration)
 *
 * then the ratios of the repeatable scenarios (a, b, c, e, f, g) again as paired rounds
 * (scripts/bench/paired.ts: BENCH_PAIRED_ROUNDS rounds of BENCH_PAIRED_SECONDS per scenario, the
 * two taken in turn), and prints a markdown table (also in .data/bench/latest.md and latest.json)
 * with the ratios me/baseline ≥ 0.85, login/floor ≥ 0.5, login@scale/login@base ≥ 0.9, refresh
 * and uncached me @scale/@base ≥ 0.8, refresh/login ≥ 0.5, uncached me/me ≥ 0.5, login/baseline
 * ≥ 0.23 (what it was before issue 13), each also paired where both are repeatable. It reports; it is not a
 * test: it exits 0 whatever the numbers, and 1 only when the run itself breaks. Ctrl-C stops
 * everything it started.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase, type Database } from '../server/db/connection';
import { startEmbeddedDatabase } from '../server/infra/dev/embeddedDatabase';
import { createWeChatSimulator, type WeChatSimulator } from '../server/infra/dev/wechatSimulator';
import { buildServer, SERVER_BUNDLE } from './build';
import { spawnServer, type ChildServer } from './bench/children';
import { runLoad, stopCurrentLoad, type LoadSpec } from './bench/load';
import { childPidsNamed, cpuSecondsOf, machineCpuSeconds, ProcessSampler } from './bench/procfs';
import { measurePairedRatios, REPEATABLE } from './bench/paired';
import { computeRatios, RATIOS, toMarkdown, writeReport, type BenchReport, type ScenarioKey, type ScenarioResult } from './bench/report';
import { seededOpenId, seedSessions, seedUsers } from './bench/seed';
import { loadSettings } from './bench/settings';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FLOOR_SERVER = join(root, 'scripts/bench/floorServer.ts');
const RESULTS_DIR = join(root, '.data/bench');
/** Seeding past this is worth saying out loud: BENCH_SCALE_USERS makes it smaller. */
const SLOW_SEED_MS = 180_000;

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- everything started is stopped, in reverse order, at the end, on failure and on Ctrl-C ----
const cleanups: { what: string; run: () => Promise<void> }[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse().splice(0)) {
      await c.run().catch((err: unknown) => log(`stopping ${c.what} failed: ${err instanceof Error ? err.message : String(err)}`));
    }
  })();
  return cleaning;
}
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping everything`);
    stopCurrentLoad();
    void cleanup().finally(() => process.exit(130));
  });
}
function checkInterrupted() {
  if (interrupted) throw new Error('interrupted');
}

/** `mongodb://host:port/` + a database name of our own. */
function withDbName(uri: string, dbName: string): string {
  const url = new URL(uri);
  url.pathname = `/${dbName}`;
  return url.toString();
}

interface TRPCResult<T> {
  result?: { data?: { json?: T } };
  error?: { json?: { message?: string; data?: { reason?: string } } };
}

const scriptStart = Date.now();

async function main() {
  const started = Date.now();
  const settings = loadSettings();
  log(`settings: ${JSON.stringify(settings)}`);
  // Other work on this machine competes for the same cores: say so before the numbers do.
  const idle0 = machineCpuSeconds();
  await sleep(1000);
  const idle1 = machineCpuSeconds();
  const busyBefore = idle0 && idle1 ? ((idle1.busy - idle0.busy) / ((idle1.total - idle0.total) / cpus().length)) * 100 : null;
  if (busyBefore !== null) {
    log(`before starting, the machine was ${busyBefore.toFixed(0)}% busy (of ${cpus().length * 100}%)${busyBefore >= 25 ? ': other work is running, expect lower and noisier numbers' : ''}`);
  }

  // ---- build ----
  log('building dist/server/main.mjs');
  const built = await buildServer({ quiet: true });

  // ---- the world around the server ----
  const startPhase = performance.now();
  const tmp = mkdtempSync(join(tmpdir(), 'wxlogin-bench-'));
  cleanups.push({ what: 'the temporary directory', run: async () => rmSync(tmp, { recursive: true, force: true }) });

  log('starting the embedded database');
  const database = await startEmbeddedDatabase({ dir: join(tmp, 'db'), log: (line) => log(`db: ${line}`) });
  cleanups.push({ what: 'the embedded database', run: () => database.stop() });
  const dbPid = childPidsNamed('devdb')[0] ?? null;
  checkInterrupted();

  const app = { appId: `wxbench${randomBytes(5).toString('hex')}`, appSecret: randomBytes(16).toString('hex') };
  const sim: WeChatSimulator = createWeChatSimulator({ apps: [app] });
  const simulatorUrl = await sim.start();
  cleanups.push({ what: 'the WeChat simulator', run: () => sim.stop() });

  const dbName = `bench_${randomBytes(4).toString('hex')}`;
  const db: Database = await openDatabase(database.uri, { dbName });
  cleanups.push({ what: 'the seeding connection', run: () => db.close() });

  log(`seeding ${settings.baseUsers} users`);
  const seedBase = await seedUsers(db, app.appId, { from: 0, to: settings.baseUsers });
  let usersStored = settings.baseUsers;
  checkInterrupted();
  // The server's default: sessions end 90 days after their login.
  const SESSION_MAX_AGE_S = 90 * 86_400;
  log(`seeding ${settings.baseSessions} sessions`);
  const seededSessions = await seedSessions(db, app.appId, { count: settings.baseSessions, users: settings.baseUsers, keep: settings.baseSessions, maxAgeS: SESSION_MAX_AGE_S });
  // Sessions in the database: the seeded ones and one per login. Kept as a tally: counting the
  // collection reads all of it on the embedded database (minutes at 200,000, under load).
  let sessionsStored = settings.baseSessions;
  const tallyLogins = (path: string, ok: number) => {
    if (path === '/trpc/auth.login') sessionsStored += ok;
  };

  log('starting the production server (node dist/server/main.mjs)');
  const serverCwd = join(tmp, 'server');
  mkdirSync(serverCwd);
  const jwtSecret = randomBytes(32).toString('base64url');
  const serverEnv = (extra: Record<string, string>) => ({
    ...process.env,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    WECHAT_APP_ID: app.appId,
    WECHAT_APP_SECRET: app.appSecret,
    WECHAT_APPS: '',
    WECHAT_API_BASE_URL: simulatorUrl,
    // Production requires it (avatar URLs); the benchmark uploads none.
    PUBLIC_BASE_URL: 'https://bench.example.com',
    MONGODB_URI: withDbName(database.uri, dbName),
    JWT_SECRET: jwtSecret,
    JWT_KEYS: '',
    DATA_ENCRYPTION_KEY: '',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_IP_PER_MIN: '0',
    RATE_LIMIT_OPENID_PER_MIN: '0',
    RATE_LIMIT_USER_PER_MIN: '0',
    AUTH_REGISTRATION: 'auto',
    NODE_OPTIONS: '',
    ...extra,
  });
  // The start-up banner: "  tRPC:     http://127.0.0.1:PORT/trpc"
  const bannerUrl = (line: string) => /^\s*tRPC:\s+(http:\/\/\S+)\/trpc\s*$/.exec(line)?.[1];
  const profiled = settings.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(settings.cpuProfileDir)] : [];
  const server: ChildServer = await spawnServer({
    name: 'the production server',
    args: [...profiled, SERVER_BUNDLE],
    cwd: serverCwd,
    env: serverEnv({}),
    urlFrom: bannerUrl,
  });
  cleanups.push({ what: 'the production server', run: () => server.stop() });
  // The same build on the same database, trusting nothing it read: every authenticated call
  // reads its session and user, as every call does once per cache period (and on other instances).
  const uncached: ChildServer = await spawnServer({
    name: 'the uncached server',
    args: [...profiled, SERVER_BUNDLE],
    cwd: serverCwd,
    env: serverEnv({ AUTH_CACHE_TTL_S: '0' }),
    urlFrom: bannerUrl,
  });
  cleanups.push({ what: 'the uncached server', run: () => uncached.stop() });
  const health = await fetch(`${server.url}/healthz`);
  if (!health.ok) throw new Error(`the production server's /healthz answered ${health.status}: ${await health.text()}`);
  checkInterrupted();

  log('starting the floor server');
  const floor: ChildServer = await spawnServer({
    name: 'the floor server',
    args: ['--import', 'tsx', FLOOR_SERVER],
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', FLOOR_APP_ID: app.appId, FLOOR_APP_SECRET: app.appSecret, FLOOR_WECHAT_URL: simulatorUrl },
    urlFrom: (line) => {
      try {
        return (JSON.parse(line) as { url?: string }).url;
      } catch {
        return undefined;
      }
    },
  });
  cleanups.push({ what: 'the floor server', run: () => floor.stop() });
  const startMs = Math.round(performance.now() - startPhase);
  log(`up: server ${server.url} (pid ${server.pid}), floor ${floor.url} (pid ${floor.pid}), simulator ${simulatorUrl}, database pid ${dbPid ?? '?'}`);

  // ---- what the requests carry ----
  /** wx.login then wx.getUserInfo on the phone: a fresh code, and user info sealed with that code's session_key. */
  const phoneLogin = (openid: string) => {
    const code = sim.app.login(openid);
    const info = sim.app.userInfo(openid);
    return { code, encryptedData: info.encryptedData, iv: info.iv, rawData: info.rawData, signature: info.signature };
  };
  /** Round robin over these users: each request a fresh code for the next one. */
  const roundRobin = (openids: string[]) => {
    let next = 0;
    return () => openids[next++ % openids.length]!;
  };
  const trpcLoginBody = (nextOpenId: () => string) => () => JSON.stringify({ json: phoneLogin(nextOpenId()) });
  const isNewUser = (body: string) => (body.includes('"isNewUser":true') ? 'new user' : body.includes('"isNewUser":false') ? 'returning user' : 'no isNewUser');
  /** `hot` users spread evenly over the first `stored`. */
  const hotUsers = (stored: number) => {
    const step = Math.max(1, Math.floor(stored / settings.hotUsers));
    return Array.from({ length: Math.min(settings.hotUsers, stored) }, (_, i) => seededOpenId(i * step));
  };

  // ---- measuring ----
  const results: ScenarioResult[] = [];
  const common = { connections: settings.connections };
  /** What each measured scenario sent, to send again in the paired rounds. */
  const specs = new Map<ScenarioKey, Omit<LoadSpec, 'connections' | 'seconds' | 'amount'>>();

  async function measure(opts: {
    key: ScenarioKey;
    title: string;
    target: ChildServer;
    usersStored: () => number | null;
    /** Show the sessions stored in the table (the refresh and uncached auth.me scenarios). */
    countSessions?: boolean;
    spec: Omit<LoadSpec, 'connections' | 'seconds' | 'amount'>;
    /** Instead of the timed warm-up (the login scenarios log every user in once). */
    warmup?: () => Promise<void>;
    check?: (r: ScenarioResult) => void;
  }): Promise<ScenarioResult | null> {
    if (settings.only && !settings.only.includes(opts.key)) return null;
    checkInterrupted();
    specs.set(opts.key, opts.spec);
    log(`${opts.title}: warm-up`);
    if (opts.warmup) await opts.warmup();
    else if (settings.warmupSeconds > 0) tallyLogins(opts.spec.path, (await runLoad({ ...opts.spec, ...common, seconds: settings.warmupSeconds })).ok);
    const sessionsAtStart = opts.countSessions ? sessionsStored : null;
    await sleep(500);
    checkInterrupted();

    log(`${opts.title}: ${settings.seconds} s at ${settings.connections} connections`);
    const usersAtStart = opts.usersStored();
    const sampler = new ProcessSampler(opts.target.pid);
    const dbCpu0 = dbPid === null ? null : cpuSecondsOf(dbPid);
    const benchCpu0 = process.cpuUsage();
    const machine0 = machineCpuSeconds();
    const idleChildren = [server, uncached, floor].filter((c) => c !== opts.target);
    const idleCpuOf = () => {
      let sum = 0;
      for (const child of idleChildren) {
        const cpu = cpuSecondsOf(child.pid);
        if (cpu === null) return null;
        sum += cpu;
      }
      return sum;
    };
    const idleCpu0 = idleCpuOf();
    const wall0 = performance.now();
    const lines0 = opts.target.linesPrinted();
    sampler.start();
    const load = await runLoad({ ...opts.spec, ...common, seconds: settings.seconds });
    tallyLogins(opts.spec.path, load.ok);
    const { peakRssBytes, cpuPercent } = sampler.stop();
    const wallS = (performance.now() - wall0) / 1000;
    const dbCpu1 = dbPid === null ? null : cpuSecondsOf(dbPid);
    const benchCpu = process.cpuUsage(benchCpu0);
    const machine1 = machineCpuSeconds();
    const idleCpu1 = idleCpuOf();
    const printed = opts.target.linesPrinted() - lines0;

    const exited = opts.target.exited();
    if (exited) {
      throw new Error(`${opts.target.name} exited during "${opts.title}" (code ${exited.code}, signal ${exited.signal}):\n${opts.target.recentOutput().slice(-15).join('\n')}`);
    }
    const pct = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null ? ((b - a) / wallS) * 100 : null);
    const targetCpu = cpuPercent;
    const databaseCpu = dbCpu0 !== null && dbCpu1 !== null ? pct(dbCpu0, dbCpu1) : null;
    const benchCpuPct = ((benchCpu.user + benchCpu.system) / 1e6 / wallS) * 100;
    const machineBusy = pct(machine0?.busy, machine1?.busy);
    // Whatever else ran meanwhile: the machine's busy time less ours (the serving process, the
    // database, this process and the other servers, idle by then).
    const others =
      machineBusy === null ? null : Math.max(0, machineBusy - (targetCpu ?? 0) - (databaseCpu ?? 0) - benchCpuPct - (pct(idleCpu0, idleCpu1) ?? 0));
    const result: ScenarioResult = {
      key: opts.key,
      title: opts.title,
      target: opts.target === floor ? 'floor' : 'server',
      usersStored: usersAtStart,
      sessionsStored: sessionsAtStart,
      load,
      peakRssBytes,
      cpu: { target: targetCpu, database: databaseCpu, bench: benchCpuPct, others, machineCapacity: cpus().length * 100 },
      cpuMsPerRequest: {
        target: targetCpu === null || load.ok === 0 ? null : (targetCpu * 10 * wallS) / load.ok,
        database: databaseCpu === null || load.ok === 0 || opts.target === floor ? null : (databaseCpu * 10 * wallS) / load.ok,
      },
      targetOutput: { lines: printed, sample: printed > 0 ? opts.target.recentOutput().slice(-Math.min(printed, 3)) : [] },
      notes: [],
    };
    if (printed > 0) result.notes.push(`the process printed ${printed} line(s) during the run, e.g. ${result.targetOutput.sample.map((l) => l.slice(0, 300)).join(' | ')}`);
    if (load.non2xx > 0) result.notes.push(`status codes: ${JSON.stringify(load.statusCodes)}`);
    if (load.errors > 0) result.notes.push(`${load.errors} connection errors (${load.timeouts} timeouts)`);
    if (others !== null && others >= 25) {
      result.notes.push(`other processes on this machine used ${others.toFixed(0)}% of a core during the run (of ${cpus().length * 100}%): this number is lower than on a quiet machine`);
    }
    if (result.cpu.bench !== null && result.cpu.bench >= 90) {
      result.notes.push(`the bench process (load generator + WeChat simulator) used ${result.cpu.bench.toFixed(0)}% of a core: the load generator may be what limits this number`);
    }
    opts.check?.(result);
    results.push(result);
    const l = load.latencyMs;
    log(
      `${opts.title}: ${load.okPerSecond.toFixed(0)} req/s, p50 ${l?.p50.toFixed(2) ?? 'n/a'} ms, p99 ${l?.p99.toFixed(2) ?? 'n/a'} ms, ` +
        `non-2xx ${load.non2xx}, errors ${load.errors}, labels ${JSON.stringify(load.labels)}`,
    );
    for (const e of load.sampleErrors) log(`  sample failure: ${e}`);
    // Requests still in flight when the load stopped finish before the next scenario.
    await sleep(1000);
    return result;
  }

  /** Every one of these users logs in once (they are returning users from then on), in order. */
  async function loginEachOnce(openids: string[]) {
    const load = await runLoad({
      url: server.url,
      method: 'POST',
      path: '/trpc/auth.login',
      body: trpcLoginBody(roundRobin(openids)),
      classify: isNewUser,
      ...common,
      amount: openids.length,
    });
    tallyLogins('/trpc/auth.login', load.ok);
    log(`  logged ${load.ok} of ${openids.length} users in once (${load.okPerSecond.toFixed(0)}/s) ${JSON.stringify(load.labels)}`);
    if (load.non2xx || load.errors) log(`  ${load.non2xx} non-2xx, ${load.errors} errors: ${load.sampleErrors.join(' | ')}`);
  }

  const expectLabel = (want: string) => (r: ScenarioResult) => {
    const other = Object.entries(r.load.labels).filter(([label]) => label !== want);
    if (other.length) r.notes.push(`expected every 2xx to be a ${want}, got ${JSON.stringify(r.load.labels)}`);
  };

  // a. baseline
  await measure({
    key: 'baseline',
    title: 'a. ping (baseline)',
    target: server,
    usersStored: () => usersStored,
    spec: { url: server.url, method: 'GET', path: '/trpc/ping' },
  });

  // b. auth.me with a valid access token
  const meLogin = await fetch(`${server.url}/trpc/auth.login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ json: { code: sim.app.login(seededOpenId(0)) } }),
  });
  const meBody = (await meLogin.json()) as TRPCResult<{ accessToken: string; isNewUser: boolean }>;
  const accessToken = meBody.result?.data?.json?.accessToken;
  tallyLogins('/trpc/auth.login', meLogin.ok ? 1 : 0);
  if (!meLogin.ok || !accessToken) throw new Error(`logging the auth.me user in failed: HTTP ${meLogin.status} ${JSON.stringify(meBody).slice(0, 400)}`);
  await measure({
    key: 'me',
    title: 'b. auth.me',
    target: server,
    usersStored: () => usersStored,
    spec: { url: server.url, method: 'GET', path: '/trpc/auth.me', headers: { authorization: `Bearer ${accessToken}` } },
  });

  // f. and g.: refresh, and auth.me with nothing cached, over the seeded sessions. Each refresh
  // token is used once: the next one of its session comes back in the answer and joins the pool.
  const refreshTokens = [...seededSessions.refreshTokens];
  /** The latest access tokens the refreshes returned, at most one per seeded session. */
  const accessTokens: string[] = [];
  let accessTokensSeen = 0;
  let nextAccessToken = 0;
  const refreshSpec: Omit<LoadSpec, 'connections' | 'seconds' | 'amount'> = {
    url: server.url,
    method: 'POST',
    path: '/trpc/auth.refresh',
    body: () => JSON.stringify({ json: { refreshToken: refreshTokens.shift() ?? 'wxr_pool-empty' } }),
    onOkBody: (body) => {
      const refreshToken = /"refreshToken":"([^"]+)"/.exec(body)?.[1];
      const accessToken = /"accessToken":"([^"]+)"/.exec(body)?.[1];
      if (refreshToken) refreshTokens.push(refreshToken);
      if (accessToken) accessTokens[accessTokensSeen++ % settings.baseSessions] = accessToken;
    },
  };
  const meUncachedSpec: Omit<LoadSpec, 'connections' | 'seconds' | 'amount'> = {
    url: uncached.url,
    method: 'GET',
    path: '/trpc/auth.me',
    headersFor: () => ({ authorization: `Bearer ${accessTokens[nextAccessToken++ % accessTokens.length]}` }),
  };
  const refreshThenMe = async (label: string, keys: { refresh: ScenarioKey; me: ScenarioKey }) => {
    await measure({
      key: keys.refresh,
      title: `f. refresh (${label} sessions)`,
      target: server,
      usersStored: () => usersStored,
      countSessions: true,
      spec: refreshSpec,
    });
    // The uncached server verifies each of these tokens once (the signature check is remembered
    // until exp whatever AUTH_CACHE_TTL_S says): the warm-up does that.
    await measure({
      key: keys.me,
      title: `g. auth.me, uncached (${label} sessions)`,
      target: uncached,
      usersStored: () => usersStored,
      countSessions: true,
      spec: meUncachedSpec,
    });
  };
  await refreshThenMe(settings.baseSessions.toLocaleString('en-US'), { refresh: 'refreshBase', me: 'meUncachedBase' });

  // c. returning-user login, base population
  const hotBase = hotUsers(usersStored);
  await measure({
    key: 'loginBase',
    title: `c. login, returning (${usersStored.toLocaleString('en-US')} users)`,
    target: server,
    usersStored: () => usersStored,
    warmup: () => loginEachOnce(hotBase),
    spec: { url: server.url, method: 'POST', path: '/trpc/auth.login', body: trpcLoginBody(roundRobin(hotBase)), classify: isNewUser },
    check: expectLabel('returning user'),
  });

  // e. the floor: the same body, only code2Session + decrypt
  await measure({
    key: 'floor',
    title: 'e. floor (code2Session + decrypt)',
    target: floor,
    usersStored: () => null,
    spec: { url: floor.url, method: 'POST', path: '/login', body: (() => { const next = roundRobin(hotBase); return () => JSON.stringify(phoneLogin(next())); })() },
  });

  // scale: seed up to BENCH_SCALE_USERS straight through the driver
  let seedScale: { users: number; ms: number } | null = null;
  if (settings.scaleUsers > usersStored && (!settings.only || settings.only.includes('loginScale'))) {
    const more = settings.scaleUsers - settings.baseUsers;
    log(`seeding ${more.toLocaleString('en-US')} more users (to ${settings.scaleUsers.toLocaleString('en-US')})`);
    const seeded = await seedUsers(db, app.appId, { from: settings.baseUsers, to: settings.scaleUsers }, {
      onProgress: (p) => log(`  ${p.inserted.toLocaleString('en-US')} users in ${(p.ms / 1000).toFixed(0)} s`),
    });
    seedScale = { users: seeded.inserted, ms: Math.round(seeded.ms) };
    usersStored += seeded.inserted;
    log(`  seeded ${seeded.inserted.toLocaleString('en-US')} users in ${(seeded.ms / 1000).toFixed(1)} s`);
    if (seeded.ms > SLOW_SEED_MS) log(`  seeding took over ${SLOW_SEED_MS / 1000} s: set BENCH_SCALE_USERS lower for a quicker run`);
  }
  checkInterrupted();

  // f'. and g'.: the same with BENCH_SCALE_SESSIONS sessions stored
  let seedSessionsScale: { sessions: number; ms: number } | null = null;
  if (!settings.only || settings.only.includes('refreshScale') || settings.only.includes('meUncachedScale')) {
    const more = settings.scaleSessions - sessionsStored;
    if (more > 0) {
      log(`seeding ${more.toLocaleString('en-US')} more sessions (to ${settings.scaleSessions.toLocaleString('en-US')})`);
      const seeded = await seedSessions(db, app.appId, {
        count: more,
        users: usersStored,
        keep: 0,
        maxAgeS: SESSION_MAX_AGE_S,
        onProgress: (p) => log(`  ${p.inserted.toLocaleString('en-US')} sessions in ${(p.ms / 1000).toFixed(0)} s`),
      });
      seedSessionsScale = { sessions: seeded.inserted, ms: Math.round(seeded.ms) };
      sessionsStored += seeded.inserted;
      log(`  seeded ${seeded.inserted.toLocaleString('en-US')} sessions in ${(seeded.ms / 1000).toFixed(1)} s`);
    }
    await refreshThenMe(settings.scaleSessions.toLocaleString('en-US'), { refresh: 'refreshScale', me: 'meUncachedScale' });
  }
  checkInterrupted();

  // c'. returning-user login, scale population
  const hotScale = hotUsers(usersStored);
  await measure({
    key: 'loginScale',
    title: `c. login, returning (${usersStored.toLocaleString('en-US')} users)`,
    target: server,
    usersStored: () => usersStored,
    warmup: () => loginEachOnce(hotScale),
    spec: { url: server.url, method: 'POST', path: '/trpc/auth.login', body: trpcLoginBody(roundRobin(hotScale)), classify: isNewUser },
    check: expectLabel('returning user'),
  });

  // d. new-user registration (auto mode): a new WeChat user per request
  const runId = randomBytes(3).toString('hex');
  let newUsers = 0;
  const freshOpenId = () => `bench_new_${runId}_${newUsers++}`;
  const registerSpec = {
    url: server.url,
    method: 'POST' as const,
    path: '/trpc/auth.login',
    body: trpcLoginBody(freshOpenId),
    classify: isNewUser,
  };
  const register = await measure({
    key: 'register',
    title: 'd. login, new user (auto registration)',
    target: server,
    usersStored: () => usersStored,
    warmup: async () => {
      if (settings.warmupSeconds === 0) return;
      const warm = await runLoad({ ...registerSpec, ...common, seconds: settings.warmupSeconds });
      usersStored += warm.labels['new user'] ?? 0;
      tallyLogins(registerSpec.path, warm.ok);
    },
    spec: registerSpec,
    check: expectLabel('new user'),
  });
  usersStored += register?.load.labels['new user'] ?? 0;

  // ---- the ratios of repeatable scenarios again, in rounds taken in turn ----
  const pairable = RATIOS.filter((r) => [r.numerator, r.denominator].every((key) => REPEATABLE.has(key) && specs.has(key)));
  const paired =
    settings.pairedRounds === 0
      ? []
      : await measurePairedRatios(pairable, {
          rounds: settings.pairedRounds,
          log,
          run: async (key) => {
            checkInterrupted();
            const spec = specs.get(key)!;
            const load = await runLoad({ ...spec, ...common, seconds: settings.pairedSeconds });
            tallyLogins(spec.path, load.ok);
            await sleep(300);
            return load;
          },
        });

  // ---- report ----
  const report: BenchReport = {
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
    durationS: (Date.now() - started) / 1000,
    settings,
    machine: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      totalMemMB: Math.round(totalmem() / 1024 / 1024),
    },
    phases: {
      machineBusyBeforePercent: busyBefore,
      buildMs: built.ms,
      startMs,
      seedBase: { users: seedBase.inserted, ms: Math.round(seedBase.ms) },
      seedScale,
      seedSessionsScale,
    },
    scenarios: results,
    ratios: computeRatios(results),
    paired,
  };
  const markdown = toMarkdown(report);
  const files = writeReport(RESULTS_DIR, report, markdown);
  process.stdout.write(`\n${markdown}\n`);
  log(`written ${files.md} and ${files.json}`);
}

main()
  .then(async () => {
    await cleanup();
    log(`done in ${((Date.now() - scriptStart) / 1000).toFixed(0)} s (everything stopped)`);
    process.exit(0);
  })
  .catch(async (err: unknown) => {
    if (!interrupted) log(`the run broke: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup();
    process.exit(interrupted ? 130 : 1);
  });
