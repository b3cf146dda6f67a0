import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTRPCClient, httpLink } from '@trpc/client';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../server/root';
import { expectReason } from './helpers/expectError';
import { ROOT, serverEnv, startServerProcess, type ServerProcess } from './helpers/serverProcess';

const api = (url: string, token?: string) =>
  createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/trpc`, transformer: superjson, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) })],
  });

/** wx.login on the phone, played by the running server's built-in simulator (over HTTP, as the demo does). */
async function wxLogin(dataDir: string, openid: string): Promise<string> {
  const { simulatorUrl } = JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8')) as { simulatorUrl: string };
  const res = await fetch(`${simulatorUrl}/__app/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ openid }) });
  return ((await res.json()) as { code: string }).code;
}

describe('the development loop keeps its state across restarts', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  // Development: no MONGODB_URI (the embedded database in DATA_DIR), no WeChat app, no JWT key.
  const start = () => startServerProcess({ cwd: dataDir, env: { NODE_ENV: 'development', DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' } });
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'wxlogin-devloop-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a user registered before a restart is still logged in after it, and logs in again as the same user', async () => {
    server = await start();
    const openid = 'o_dev_restart';
    const first = await expectReason(api(server.url).auth.login.mutate({ code: await wxLogin(dataDir, openid) }), 'USER_NOT_REGISTERED');
    const ticket = first.data.registrationTicket!;
    const registered = await api(server.url).auth.register.mutate({ registrationTicket: ticket, profile: { nickName: 'Dev' } });
    expect((await server.stop()).code).toBe(0);

    server = await start();
    // The access token from before the restart still verifies, and its session is still live.
    const me = await api(server.url, registered.accessToken).auth.me.query();
    expect(me.id).toBe(registered.userId);
    // The refresh token still rotates.
    const refreshed = await api(server.url).auth.refresh.mutate({ refreshToken: registered.refreshToken });
    expect(refreshed.accessToken).not.toBe(registered.accessToken);
    // The simulator is the same app: the same openid is the same, registered, user.
    const again = await api(server.url).auth.login.mutate({ code: await wxLogin(dataDir, openid) });
    expect(again).toMatchObject({ isNewUser: false, user: { id: registered.userId, nickName: 'Dev' } });

    // The development keys are the owner's alone.
    expect(statSync(join(dataDir, 'dev-state.json')).mode & 0o077).toBe(0);
  }, 120_000);

  it('the admin command finds the running development database by itself', async () => {
    const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/admin.ts'), 'counts', '--json'], {
      cwd: dataDir,
      env: serverEnv({ DATA_DIR: dataDir }),
    });
    expect(JSON.parse(stdout)).toMatchObject({ users: 1 });
  });
});
