import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, serverEnv } from './helpers/serverProcess';

/** Runs server/main.ts to its exit; returns the exit code and what it printed. */
function runToExit(env: Record<string, string>, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'server/main.ts')], { cwd, env: serverEnv(env) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  return new Promise((res) => child.once('exit', (code) => res({ code, stdout, stderr })));
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const { port } = server.address() as { port: number };
  await new Promise((res) => server.close(res));
  return port;
}

const PRODUCTION = {
  NODE_ENV: 'production',
  JWT_SECRET: 'a-production-secret-that-is-long-enough-0123',
  WECHAT_APP_ID: 'wx0123456789abcdef',
  WECHAT_APP_SECRET: 'an-app-secret',
  PUBLIC_BASE_URL: 'https://api.example.com',
  TRUST_PROXY: '1',
  LOG_LEVEL: 'info',
};

describe('a production start that cannot be safe is refused', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), 'wxlogin-refusal-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('lists every problem in one message, one line each naming its variable, and exits 1', async () => {
    const { code, stdout, stderr } = await runToExit({ NODE_ENV: 'production', PORT: 'eighty' }, cwd);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^Invalid configuration: PORT /),
      'Invalid configuration: MONGODB_URI is required when NODE_ENV=production (the embedded database is for development)',
      expect.stringMatching(/^Invalid configuration: JWT_SECRET is required when NODE_ENV=production/),
      expect.stringMatching(/^Invalid configuration: WECHAT_APP_ID is required when NODE_ENV=production/),
      expect.stringMatching(/^Invalid configuration: PUBLIC_BASE_URL is required when NODE_ENV=production/),
    ]);
    expect(stdout).toBe('');
    expect(readdirSync(cwd)).toEqual([]); // no embedded database, no runtime file
  });

  it('names MONGODB_URI (without its password) and what was tried when the database cannot be reached', async () => {
    const port = await closedPort();
    const { code, stderr } = await runToExit({ ...PRODUCTION, PORT: '0', MONGODB_URI: `mongodb://admin:hunter2-secret@127.0.0.1:${port}/wx` }, cwd);
    expect(code).toBe(1);
    const lastLine = stderr.trim().split('\n').at(-1)!;
    expect(lastLine).toContain(`MONGODB_URI (mongodb://admin:***@127.0.0.1:${port}/wx)`);
    expect(lastLine).toMatch(/MongoDB/);
    expect(lastLine).toMatch(/ECONNREFUSED/);
    expect(stderr).not.toContain('hunter2-secret');
    expect(readdirSync(cwd)).toEqual([]);
  });
});
