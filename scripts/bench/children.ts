import { stopChild } from '../../server/stopChild';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A server the bench runs in a child process: its URL, its pid, its last output lines. */
export interface ChildServer {
  name: string;
  url: string;
  pid: number;
  /** Lines it printed (stdout and stderr), the last 200. */
  recentOutput(): string[];
  /** How many lines it printed so far (the production server logs at warn: each is worth a look). */
  linesPrinted(): number;
  /** Set when it exited on its own. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  stop(): Promise<void>;
}

interface SpawnOptions {
  name: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Finds the server's base URL in one of its output lines. */
  urlFrom: (line: string) => string | undefined;
  startTimeoutMs?: number;
}

/** Starts `node <args>` and resolves once a line of its output names the URL it listens on. */
export function spawnServer(opts: SpawnOptions): Promise<ChildServer> {
  const child = spawn(process.execPath, opts.args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let printed = 0;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => {
    exit = { code, signal };
  });

  return new Promise<ChildServer>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(`did not report its URL within ${(opts.startTimeoutMs ?? 30_000) / 1000} s`), opts.startTimeoutMs ?? 30_000);
    function fail(why: string) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${opts.name} ${why}${lines.length ? `; its last output:\n${lines.slice(-15).join('\n')}` : ''}`));
    }
    const onLine = (line: string) => {
      printed += 1;
      lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
      if (lines.length > 200) lines.shift();
      if (settled) return;
      const url = opts.urlFrom(line);
      if (!url) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        name: opts.name,
        url,
        pid: child.pid!,
        recentOutput: () => [...lines],
        linesPrinted: () => printed,
        exited: () => exit,
        stop: () => stopServerChild(child),
      });
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('error', (err) => fail(`could not be started: ${err.message}`));
    child.once('exit', (code, signal) => fail(`exited during start-up (code ${code}, signal ${signal})`));
  });
}

/** SIGTERM, then SIGKILL after 12 s (the server gives itself 10 s to shut down). */
const stopServerChild = (child: ChildProcess) => stopChild(child, 12_000);
