import { stopChild } from '../../server/stopChild';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import mongoose from 'mongoose';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../server/infra/dev/embeddedDatabase';
import { createWeChatSimulator, type WeChatSimulator } from '../../server/infra/dev/wechatSimulator';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVER_ENTRY = join(REPO, 'server', 'main.ts');
/** tsx's loader, by absolute URL: the server runs as `node --import <tsx> server/main.ts` in a temp cwd. */
const TSX_LOADER = pathToFileURL(createRequire(join(REPO, 'package.json')).resolve('tsx')).href;
/** Answers 'gc' over IPC with a full collection (see gcAgent.ts); the server code is unchanged. */
const GC_AGENT = pathToFileURL(join(REPO, 'scripts', 'soak', 'gcAgent.ts')).href;
/** Driver events, off unless SOAK_DRIVER_TRACE is set (see driverTrace.ts). */
const DRIVER_TRACE = pathToFileURL(join(REPO, 'scripts', 'soak', 'driverTrace.ts')).href;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Undo actions, run newest first; also run on SIGINT/SIGTERM and (child kills only) on exit. */
export class Cleanup {
  /** Every Cleanup not yet run, for an interrupted run (see runAllActive). */
  private static readonly active = new Set<Cleanup>();
  private stack: { label: string; run: () => Promise<void> | void }[] = [];

  constructor() {
    Cleanup.active.add(this);
  }

  static async runAllActive(): Promise<void> {
    for (const cleanup of [...Cleanup.active]) await cleanup.runAll();
  }

  push(label: string, run: () => Promise<void> | void): void {
    this.stack.push({ label, run });
  }

  async runAll(): Promise<void> {
    Cleanup.active.delete(this);
    for (const { label, run } of this.stack.reverse().splice(0)) {
      try {
        await withTimeout(Promise.resolve(run()), 20_000, `cleanup "${label}"`);
      } catch (err) {
        console.error(`  cleanup "${label}" failed: ${(err as Error).message}`);
      }
    }
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function tempDir(label: string, cleanup: Cleanup): string {
  const dir = mkdtempSync(join(tmpdir(), `wxlogin-soak-${label}-`));
  cleanup.push(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface SoakDatabase {
  /** mongodb://127.0.0.1:PORT/soak: the server and the checks use the same database name. */
  uri: string;
  dbName: string;
  port: number;
  dir: string;
  /** Stops the database process (idempotent). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
}

export async function startDatabase(dir: string, cleanup: Cleanup): Promise<SoakDatabase> {
  let current: EmbeddedDatabase | undefined = await startEmbeddedDatabase({ dir });
  const port = Number(new URL(current.uri).port);
  if (!port) throw new Error(`no port in the embedded database's URI ${current.uri}`);
  const dbName = 'soak';
  const db: SoakDatabase = {
    uri: `mongodb://127.0.0.1:${port}/${dbName}`,
    dbName,
    port,
    dir,
    async stop() {
      const running = current;
      current = undefined;
      await running?.stop();
    },
    async restart() {
      if (current) throw new Error('the database is already running');
      current = await startEmbeddedDatabase({ dir, port });
      const again = Number(new URL(current.uri).port);
      if (again !== port) throw new Error(`the database came back on port ${again}, not ${port}`);
    },
  };
  cleanup.push('stop the embedded database', () => db.stop());
  return db;
}

export interface SoakSimulator {
  sim: WeChatSimulator;
  appId: string;
  appSecret: string;
  url: string;
}

export async function startSimulator(cleanup: Cleanup): Promise<SoakSimulator> {
  const app = { appId: 'wx' + randomBytes(8).toString('hex'), appSecret: randomBytes(16).toString('hex') };
  const sim = createWeChatSimulator({ apps: [app] });
  const url = await sim.start();
  cleanup.push('stop the WeChat simulator', () => sim.stop());
  return { sim, ...app, url };
}

export interface LogLine {
  level: number;
  msg: string;
  raw: string;
}

export interface ServerChild {
  pid: number;
  url: string;
  /** Every stdout line (pino JSON at LOG_LEVEL), parsed where possible. */
  logs: LogLine[];
  stderr: string[];
  /** Lines at error level (50) or above. */
  errorLines(): LogLine[];
  exited(): boolean;
  /** A full garbage collection in the server, then its RSS (KiB, from /proc) and heap figures. */
  forceGc(): Promise<GcResult | undefined>;
  stop(): Promise<void>;
}

export interface GcResult {
  rssKiB: number;
  heapUsedKiB: number;
  heapTotalKiB: number;
  externalKiB: number;
}

/**
 * The server as a child process of its own (so its RSS is its own): `node --import tsx
 * server/main.ts` in a temp working directory, with only the environment given here (plus PATH
 * and HOME). Its URL comes from `<cwd>/.data/runtime.json`.
 */
export async function startServerChild(env: Record<string, string>, cwd: string, cleanup: Cleanup): Promise<ServerChild> {
  const driverEnv = { SOAK_DRIVER_TRACE: process.env.SOAK_DRIVER_TRACE ?? '' };
  const child = spawn(process.execPath, ['--expose-gc', '--import', TSX_LOADER, '--import', GC_AGENT, '--import', DRIVER_TRACE, SERVER_ENTRY], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? cwd, PORT: '0', HOST: '127.0.0.1', ...driverEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.channel?.unref();
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  cleanup.push('stop the server', async () => {
    await stopServerChild(child);
    process.off('exit', killOnExit);
  });

  const logs: LogLine[] = [];
  createInterface({ input: child.stdout! }).on('line', (raw) => {
    try {
      const parsed = JSON.parse(raw) as { level?: number; msg?: string };
      logs.push({ level: parsed.level ?? 0, msg: parsed.msg ?? '', raw });
    } catch {
      logs.push({ level: 0, msg: raw, raw });
    }
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.startsWith('[driver ')) console.log(`    ${line}`);
    stderr.push(line);
    if (stderr.length > 200) stderr.shift();
  });

  const runtimeFile = join(cwd, '.data', 'runtime.json');
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited during start-up (${child.exitCode ?? child.signalCode}): ${stderr.slice(-10).join('\n')}`);
    }
    if (Date.now() > deadline) throw new Error(`the server did not write ${runtimeFile} within 60 s: ${stderr.slice(-10).join('\n')}`);
    if (existsSync(runtimeFile)) {
      try {
        url = (JSON.parse(readFileSync(runtimeFile, 'utf8')) as { url: string }).url;
      } catch {
        // being written: try again
      }
    }
    if (!url) await sleep(100);
  }

  return {
    pid: child.pid!,
    url,
    logs,
    stderr,
    errorLines: () => logs.filter((l) => l.level >= 50),
    exited: () => child.exitCode !== null || child.signalCode !== null,
    forceGc: () => forceGc(child),
    stop: () => stopServerChild(child),
  };
}

function forceGc(child: ChildProcess): Promise<GcResult | undefined> {
  if (!child.connected || !child.pid) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const done = (result: GcResult | undefined) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(result);
    };
    const onMessage = (m: { gc?: boolean; heapUsed?: number; heapTotal?: number; external?: number }) => {
      const rss = rssKiB(child.pid!);
      if (!m.gc || rss === undefined) return done(undefined);
      const kib = (n = 0) => Math.round(n / 1024);
      done({ rssKiB: rss, heapUsedKiB: kib(m.heapUsed), heapTotalKiB: kib(m.heapTotal), externalKiB: kib(m.external) });
    };
    const timer = setTimeout(() => done(undefined), 5000);
    child.on('message', onMessage);
    child.send('gc');
  });
}

/** A log line in short: its message, procedure and the error's type, code and message. */
export function describeLogLine(line: LogLine): string {
  try {
    const parsed = JSON.parse(line.raw) as { msg?: string; procedure?: string; err?: { type?: string; code?: unknown; codeName?: unknown; message?: string } };
    const err = parsed.err;
    const what = err ? `${err.type ?? 'Error'}${err.code !== undefined ? ` code ${String(err.code)}${err.codeName ? ` (${String(err.codeName)})` : ''}` : ''}: ${(err.message ?? '').slice(0, 400)}` : '';
    return [parsed.msg, parsed.procedure, what].filter(Boolean).join(' | ');
  } catch {
    return line.raw.slice(0, 500);
  }
}

/** SIGTERM (the server's graceful shutdown), SIGKILL after 15 s. */
const stopServerChild = (child: ChildProcess) => stopChild(child, 15_000);

/** VmRSS of a process in KiB (undefined once it is gone or where /proc is missing). */
export function rssKiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The environment every soak server gets: simulator app, no rate limits, warn logs. */
export function serverEnv(db: SoakDatabase, wx: SoakSimulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'development',
    MONGODB_URI: db.uri,
    WECHAT_APP_ID: wx.appId,
    WECHAT_APP_SECRET: wx.appSecret,
    WECHAT_API_BASE_URL: wx.url,
    AUTH_REGISTRATION: 'auto',
    RATE_LIMIT_IP_PER_MIN: '0',
    RATE_LIMIT_OPENID_PER_MIN: '0',
    RATE_LIMIT_USER_PER_MIN: '0',
    LOG_LEVEL: 'warn',
    WECHAT_RETRIES: '2',
    WECHAT_TIMEOUT_MS: '1000',
    // A fixed key: no "ephemeral key" warning in the logs we inspect.
    JWT_SECRET: randomBytes(32).toString('hex'),
    ...extra,
  };
}

/** A fresh connection's ping: 'ok', or the error that stopped it (to tell a dead database from a stuck client). */
export async function pingDatabase(uri: string, timeoutMs = 2000): Promise<string> {
  const connection = mongoose.createConnection(uri, { serverSelectionTimeoutMS: timeoutMs, bufferCommands: false });
  try {
    await connection.asPromise();
    await connection.db!.admin().ping();
    return 'ok';
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  } finally {
    await connection.close().catch(() => {});
  }
}

const TCP_STATES: Record<string, string> = {
  '01': 'ESTABLISHED', '02': 'SYN_SENT', '03': 'SYN_RECV', '04': 'FIN_WAIT1', '05': 'FIN_WAIT2', '06': 'TIME_WAIT',
  '07': 'CLOSE', '08': 'CLOSE_WAIT', '09': 'LAST_ACK', '0A': 'LISTEN', '0B': 'CLOSING',
};

/**
 * Sockets on 127.0.0.1:<port>, either end, with their state and owning process, from
 * /proc/net/tcp (TIME_WAIT left out): who listens there and who is connected or connecting.
 */
export function socketsOnPort(port: number): string[] {
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return ['(no /proc/net/tcp)'];
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: { state: string; local: string; remote: string; inode: string }[] = [];
  const portOf = (addr: string) => parseInt(addr.split(':')[1]!, 16);
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] === '06') continue;
    if (cols[1] !== `0100007F:${hexPort}` && cols[2] !== `0100007F:${hexPort}`) continue;
    found.push({ state: TCP_STATES[cols[3]!] ?? cols[3]!, local: `:${portOf(cols[1]!)}`, remote: `:${portOf(cols[2]!)}`, inode: cols[9]! });
  }
  if (found.length === 0) return [];
  const owners = new Map<string, string>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match && found.some((f) => f.inode === match[1])) {
          owners.set(match[1]!, `${pid} ${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}`);
        }
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return found.map((f) => `${f.local}->${f.remote} ${f.state} (${owners.get(f.inode) ?? (f.inode === '0' ? 'no process' : '?')})`);
}
