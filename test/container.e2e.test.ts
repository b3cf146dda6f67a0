import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildServer } from '../scripts/build';
import { createWeChatSimulator } from '../server/infra/dev/wechatSimulator';
import { readDockerfile, type Instruction } from './helpers/dockerfile';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/serverProcess';

const run = promisify(execFile);

/** Every file under `dir`, relative, sorted. */
function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => !e.isDirectory())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/**
 * There is no container engine here, so this replays the Dockerfile's runtime stage by hand, from
 * the Dockerfile itself: the build stage's bundle (built into a folder of this test), each COPY
 * into a clean folder, each RUN there (npm ci --omit=dev), then the folder made read-only and the
 * CMD run as the USER (setpriv) with the stage's ENV, against the test database and the WeChat
 * simulator: /healthz, the HEALTHCHECK command, a login, and a clean stop on SIGTERM.
 */
describe('the production image, replayed without a container engine', () => {
  const stages = readDockerfile(join(ROOT, 'Dockerfile'));
  const runtime = stages.get('runtime')!;
  const build = stages.get('build')!;
  const app = { appId: 'wx' + randomBytes(8).toString('hex'), appSecret: randomBytes(16).toString('hex') };
  const sim = createWeChatSimulator({ apps: [app] });
  const only = (op: string) => runtime.filter((i) => i.op === op);
  let root: string;
  let image: string;
  let server: ServerProcess | undefined;
  let filesBefore: string[];
  let user: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'wxlogin-image-'));
    chmodSync(root, 0o755); // the unprivileged user must reach the app folder
    const buildDir = join(root, 'build');
    const workdir = only('WORKDIR')[0]!.args[0]!;
    image = join(root, 'app');
    mkdirSync(image);

    // The build stage ends in `npm run build`: buildServer is what it runs.
    expect(build.filter((i) => i.op === 'RUN').at(-1)!.rest).toBe('npm run build');
    await buildServer({ quiet: true, outfile: join(buildDir, 'dist/server/main.mjs') });

    for (const step of runtime) {
      if (step.op === 'COPY') copy(step, { buildDir, workdir });
      if (step.op === 'RUN') await run('sh', ['-c', step.rest], { cwd: image, timeout: 240_000 });
    }
    filesBefore = listFiles(image);
    await run('chmod', ['-R', 'a-w', image]);
    user = only('USER')[0]!.args[0]!;
  }, 300_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await sim.stop();
    if (root) {
      await run('chmod', ['-R', 'u+w', root]);
      rmSync(root, { recursive: true, force: true });
    }
  });

  /** COPY from the build context (the repository) or, with --from=build, from the build stage's /app. */
  function copy(step: Instruction, where: { buildDir: string; workdir: string }) {
    const sources = step.args.slice(0, -1);
    const target = join(image, relative(where.workdir, join(where.workdir, step.args.at(-1)!)));
    for (const source of sources) {
      const from = step.flags.from === 'build' ? join(where.buildDir, relative(where.workdir, source)) : join(ROOT, source);
      const to = target.endsWith('/') || sources.length > 1 || step.args.at(-1)!.endsWith('/') ? join(target, source.split('/').at(-1)!) : target;
      mkdirSync(dirname(to), { recursive: true });
      cpSync(from, to, { recursive: true });
    }
  }

  it('has the layout the issue asks for', () => {
    expect(runtime.map((i) => i.op)).not.toContain('ADD');
    expect(only('COPY').filter((c) => c.flags.from === 'build').map((c) => c.args)).toEqual([['/app/dist', './dist']]);
    expect(only('RUN').map((i) => i.rest)).toEqual([expect.stringMatching(/^npm ci --omit=dev\b/)]);
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/); // numeric and not root
    expect(only('CMD')[0]!.args).toEqual(['node', 'dist/server/main.mjs']);
    // Nothing of the development set-up: no sources, no devdb, no dev dependencies.
    expect(filesBefore.filter((f) => !f.startsWith('node_modules/'))).toEqual(['dist/server/main.mjs', 'dist/server/main.mjs.map', 'package-lock.json', 'package.json']);
    expect(filesBefore.some((f) => f.startsWith('node_modules/vitest/') || f.startsWith('node_modules/tsx/'))).toBe(false);
  });

  it('runs read-only as the unprivileged user: health, HEALTHCHECK, a login, and a clean stop on SIGTERM', async () => {
    const [uid, gid] = user.split(':');
    const env = Object.fromEntries(only('ENV').flatMap((i) => i.args.map((kv) => kv.split('=') as [string, string])));
    const [command, ...args] = only('CMD')[0]!.args as [string, ...string[]];
    const simUrl = await sim.start();
    server = await startServerProcess({
      command: 'setpriv',
      args: ['--reuid', uid!, '--regid', gid!, '--clear-groups', '--', command, ...args],
      cwd: image,
      env: {
        ...env,
        HOME: '/nonexistent',
        // Loopback and any free port here; the image listens on 0.0.0.0:3000.
        HOST: '127.0.0.1',
        PORT: '0',
        MONGODB_URI: `${inject('mongodbUri').replace(/\/?$/, '/')}image_${randomBytes(4).toString('hex')}`,
        JWT_SECRET: randomBytes(32).toString('hex'),
        WECHAT_APP_ID: app.appId,
        WECHAT_APP_SECRET: app.appSecret,
        WECHAT_API_BASE_URL: simUrl,
        PUBLIC_BASE_URL: 'https://api.example.com',
        AUTH_REGISTRATION: 'auto',
        LOG_LEVEL: 'info',
      },
    });
    expect(server.stdout()).toContain('TRUST_PROXY is unset');

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const port = new URL(server.url).port;
    const health = only('HEALTHCHECK')[0]!.args;
    await expect(run('setpriv', ['--reuid', uid!, '--regid', gid!, '--clear-groups', '--', ...health], { cwd: image, env: { PATH: process.env.PATH, PORT: port } })).resolves.toBeDefined();

    const login = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: sim.app.login('o_image_user') }),
    });
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const me = await fetch(`${server.url}/api/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(await me.json()).toMatchObject({ openId: 'o_image_user' });

    expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(server.stdout()).toContain('"msg":"stopped"');
    expect(server.stderr()).not.toMatch(/EACCES|EROFS|Error/);
    expect(listFiles(image)).toEqual(filesBefore);
  }, 120_000);
});
