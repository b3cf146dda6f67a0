/**
 * devdb serves Go's profiler (net/http/pprof) on the loopback address in DEVDB_PPROF_ADDR, for
 * profiling the embedded database during `npm run bench` (docs/internals/embedded-database.md),
 * and nothing without it. Each test starts the real binary as a child process of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevdbBuilt } from '../devdb/ensureBuilt';
import { stopChild } from '../server/stopChild';

let binary: string;
const started: { child: ChildProcess; dir: string }[] = [];

beforeAll(async () => {
  binary = await ensureDevdbBuilt();
});

afterEach(async () => {
  for (const { child, dir } of started.splice(0)) {
    await stopChild(child, 5000);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A loopback port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The TCP ports a process listens on (Linux: its socket descriptors matched with /proc/net/tcp). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`)
      .map((fd) => /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1])
      .filter((inode) => inode !== undefined),
  );
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = row.trim().split(/\s+/);
      if (state === '0A' && inodes.has(inode!)) ports.push(parseInt(local!.split(':')[1]!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

/** Starts devdb with `env` added; resolves with its first stdout line, or its exit code and stderr. */
function startDevdb(env: Record<string, string>): Promise<{ line: string } | { code: number | null; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-devdb-pprof-'));
  const withoutPprof = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DEVDB_PPROF_ADDR'));
  const child = spawn(binary, ['-dir', dir], { env: { ...withoutPprof, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  started.push({ child, dir });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ line }));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('DEVDB_PPROF_ADDR', () => {
  it('serves the profiler on the given loopback address', async () => {
    const port = await freePort();
    const start = await startDevdb({ DEVDB_PPROF_ADDR: `127.0.0.1:${port}` });
    expect(start).toHaveProperty('line');
    const mongoPort = Number(new URL((JSON.parse((start as { line: string }).line) as { uri: string }).uri).port);
    expect(listeningPorts(started[0]!.child.pid!)).toEqual([mongoPort, port].sort((a, b) => a - b));

    const index = await fetch(`http://127.0.0.1:${port}/debug/pprof/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('goroutine');
    const heap = await fetch(`http://127.0.0.1:${port}/debug/pprof/heap?debug=1`);
    expect(heap.status).toBe(200);
    expect(await heap.text()).toContain('heap profile');
  });

  it('serves nothing when unset: devdb listens on its database port only', async () => {
    const start = await startDevdb({});
    expect(start).toHaveProperty('line');
    const mongoPort = Number(new URL((JSON.parse((start as { line: string }).line) as { uri: string }).uri).port);
    expect(listeningPorts(started[0]!.child.pid!)).toEqual([mongoPort]);
  });

  it('refuses an address that is not loopback, naming the variable', async () => {
    const start = await startDevdb({ DEVDB_PPROF_ADDR: '0.0.0.0:0' });
    expect(start).toMatchObject({ code: 1 });
    expect((start as { stderr: string }).stderr).toContain('DEVDB_PPROF_ADDR="0.0.0.0:0": the host must be a loopback IP');
  });
});
