import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONFIG_VARIABLES } from '../../server/config';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * The test process's environment without any of the server's own variables (a developer's or
 * CI's MONGODB_URI, NODE_ENV=test from vitest ...), plus `env`: a child server sees only what
 * the test gives it.
 */
export function serverEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of [...CONFIG_VARIABLES, 'VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID']) delete base[name];
  return { ...base, ...env };
}

export interface ServerProcess {
  child: ChildProcess;
  /** Base URL from the server's `listening` log line. */
  url: string;
  /** From that line too, when METRICS_PORT is set. */
  metricsUrl: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a server as a real child process (by default server/main.ts with tsx's loader) and waits for its
 * `listening` log line (LOG_LEVEL must be info or lower). Rejects with its output when it exits
 * first or does not come up in time.
 */
export async function startServerProcess(opts: {
  env: Record<string, string>;
  cwd: string;
  command?: string;
  args?: string[];
  spawnOptions?: SpawnOptions;
  timeoutMs?: number;
}): Promise<ServerProcess> {
  // node with tsx's loader, as npm start runs it: one process (the tsx command would start two).
  const command = opts.command ?? process.execPath;
  const args = opts.args ?? ['--import', pathToFileURL(resolve(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, resolve(ROOT, 'server/main.ts')];
  const child = spawn(command, args, { ...opts.spawnOptions, cwd: opts.cwd, env: serverEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));

  const listening = await new Promise<{ url: string; metrics: string }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`server did not come up within ${opts.timeoutMs ?? 60_000} ms:\n${stdout}\n${stderr}`)), opts.timeoutMs ?? 60_000);
    const look = () => {
      for (const line of stdout.split('\n')) {
        if (!line.includes('"listening"')) continue;
        clearTimeout(timer);
        return res(JSON.parse(line) as { url: string; metrics: string });
      }
    };
    child.stdout!.on('data', look);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`server exited (${code ?? signal}) before listening:\n${stdout}\n${stderr}`));
    });
  });

  return {
    child,
    url: listening.url,
    metricsUrl: listening.metrics.replace(/\/metrics$/, ''),
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
