import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startServerProcess } from './helpers/serverProcess';

/**
 * The processes of the group that still run. A zombie (ps state Z) has exited and holds nothing
 * but its process table entry; here one can linger, since this machine's PID 1 reaps no orphans
 * (tsx's esbuild service exits a moment after node and is re-parented to PID 1).
 */
function running(pgid: number): string[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,stat=', '-g', String(pgid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter((line) => line && !/^\s*\d+\s+Z/.test(line));
  } catch {
    return []; // ps exits 1 when the group has no process at all
  }
}
const groupAlive = (pgid: number) => running(pgid).length > 0;

/** What is left of the group, for the failure message. */
function survivors(pgid: number): string {
  try {
    return execFileSync('ps', ['-o', 'pid,stat,ppid,args', '-g', String(pgid)], { encoding: 'utf8' });
  } catch {
    return 'no process left';
  }
}

describe('npm start and signals (what a container runtime or Ctrl-C sends)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'wxlogin-signals-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to npm alone stops the server and the embedded database, exits 0, and leaves no process behind',
    async (signal) => {
      // Its own process group, so that the test can tell whether anything of it survives.
      const server = await startServerProcess({
        command: 'npm',
        args: ['start', '--silent'],
        cwd: ROOT,
        env: { NODE_ENV: 'development', DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' },
        spawnOptions: { detached: true },
      });
      const pgid = server.child.pid!;
      try {
        expect(server.stdout()).toMatch(/embedded FerretDB/);
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
        expect(JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8'))).toMatchObject({ url: server.url });

        // Only npm gets the signal, as PID 1 of a container does from `docker stop`.
        expect(await server.stop(signal)).toEqual({ code: 0, signal: null });
        expect(server.stdout()).toContain('"msg":"stopped"');
        expect(groupAlive(pgid), survivors(pgid)).toBe(false);
        await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
        expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false);
      } finally {
        if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
      }
    },
    120_000,
  );
});
