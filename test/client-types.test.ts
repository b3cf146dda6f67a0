import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../client/build';
import { createMiniProgramRealm, REALM_VARIANTS } from './helpers/miniProgramRealm';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';
import { installWx } from './helpers/wxStandIn';

/**
 * The types a TypeScript mini program in its own repo compiles against (wxlogin-client.d.ts,
 * client/emitTypes.ts). Each check is a folder in a temporary directory holding only what such a
 * repo has: the two files `npm run build:client` makes (copied in as lib/wxlogin-client.js and
 * lib/wxlogin-client.d.ts), `miniprogram-api-typings` and `typescript` (symlinked from this repo's
 * node_modules, nothing else of it), a mini program's tsconfig (no DOM, strict, libraries checked)
 * and pages. That folder's own tsc runs as a child process.
 */
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const t = useTestBackend({ AUTH_REGISTRATION: 'explicit' });

/** A mini program's tsconfig, as WeChat's TypeScript template has it (less its own typings folder). */
const MINI_PROGRAM_TSCONFIG = {
  compilerOptions: {
    target: 'ES2018',
    lib: ['ES2018'],
    module: 'CommonJS',
    types: ['miniprogram-api-typings'],
    strict: true,
    skipLibCheck: false,
    noEmit: true,
  },
  include: ['./**/*.ts'],
};

/**
 * A page that uses the client as an app does. `exercise` runs in a mini program realm against the
 * real server (below); `wrongCalls` never runs: each of its lines must fail to compile, which
 * `@ts-expect-error` demands (tsc fails on a marker with no error under it).
 */
const TYPED_PAGE = `import { createMiniProgramClient, errorData, errorReason, MiniProgramClientError } from '../../lib/wxlogin-client';
import type { CancelDeletionOutput, ClientErrorReason, CloudMiniProgramClient, DeleteAccountOutput, ErrorReason, MiniProgramClient, RouterInputs, RouterOutputs, StoredSession, UserOutput } from '../../lib/wxlogin-client';

export async function exercise(url: string) {
  const client: MiniProgramClient = createMiniProgramClient({
    url,
    wx,
    onRegister: ({ registrationTicket }) => (registrationTicket ? { profile: { nickName: 'Typed' } } : null),
  });
  const { user, isNewUser } = await client.login();
  const me: UserOutput = await client.api.auth.me.query();
  const nickName: string | null = me.nickName;
  const sessions: RouterOutputs['user']['sessions'] = await client.api.user.sessions.query({ limit: 10 });
  const current = sessions.find((s) => s.current);
  const update: RouterInputs['user']['updateProfile'] = { nickName: 'Typed too' };
  const updated = await client.api.user.updateProfile.mutate(update);
  const pong: 'pong' = await client.api.ping.query();
  const keyValid: boolean = (await client.api.user.checkSession.query()).valid;
  // The example module's procedures and reason (server/modules/notes), typed like the core's.
  const note: RouterOutputs['notes']['create'] = await client.api.notes.create.mutate({ text: 'typed note' });
  const notes: RouterOutputs['notes']['list'] = await client.api.notes.list.query({ limit: 5 });
  await client.api.notes.delete.mutate({ id: note.id });
  const again: ClientErrorReason | null = await client.api.notes.delete.mutate({ id: note.id }).then(() => null, errorReason);
  const noteGone: 'NOTE_NOT_FOUND' | null = again === 'NOTE_NOT_FOUND' ? again : null;
  let refused: ClientErrorReason = 'UNKNOWN';
  let retryAfterS: number | undefined;
  try {
    await client.api.auth.refresh.mutate({ refreshToken: 'not a refresh token' });
  } catch (err) {
    refused = errorReason(err);
    retryAfterS = errorData(err)?.retryAfterS;
  }
  const serverReason: ErrorReason | undefined = refused === 'REFRESH_TOKEN_INVALID' ? refused : undefined;
  const stored: StoredSession | null = client.session();
  await client.logout();
  return {
    sameUser: user.id === me.id,
    isNewUser,
    nickName,
    createdAtIsDate: me.createdAt instanceof Date,
    sessionCount: sessions.length,
    currentLastUsedIsDate: current ? current.lastUsedAt instanceof Date : null,
    updatedNickName: updated.nickName,
    pong,
    keyValid,
    noteTexts: notes.map((n) => n.text),
    noteCreatedAtIsDate: note.createdAt instanceof Date,
    noteGone,
    refused,
    retryAfterS: retryAfterS ?? null,
    serverReason: serverReason ?? null,
    storedUserIsMe: stored?.userId === me.id,
    sessionAfterLogout: client.session(),
    transportError: new MiniProgramClientError('TIMEOUT', 'slow').reason,
  };
}

/** Account deletion (compiled, not run: it would delete the account exercise() uses). */
export async function deletion(client: MiniProgramClient) {
  const done: DeleteAccountOutput = await client.deleteAccount();
  const scheduledFor: Date | null = done.status === 'scheduled' ? done.scheduledFor : null;
  const login = await client.login().then(() => null, errorReason);
  const pending: 'ACCOUNT_DELETION_PENDING' | null = login === 'ACCOUNT_DELETION_PENDING' ? login : null;
  const when: string | undefined = pending ? await client.login().then(() => undefined, (err) => errorData(err)?.scheduledFor) : undefined;
  const cancelled: CancelDeletionOutput['status'] = (await client.cancelDeletion()).status;
  return { scheduledFor, when, cancelled };
}

/** WeChat Cloud Hosting: the same API over wx.cloud.callContainer, plus bindPhoneByCloudID. */
export function cloudClient(cloudID: string) {
  const client: CloudMiniProgramClient = createMiniProgramClient({ transport: 'cloud', env: 'prod-1a2b', service: 'wxlogin', wx });
  const me: Promise<UserOutput> = client.api.auth.me.query();
  const bound: Promise<UserOutput> = client.bindPhoneByCloudID(cloudID);
  return { me, bound };
}

export function wrongCalls(client: MiniProgramClient) {
  // @ts-expect-error deleteAccount takes no code: it calls wx.login itself
  client.deleteAccount('a code');
  // @ts-expect-error auth.login's code is a string
  client.api.auth.login.mutate({ code: 42 });
  // @ts-expect-error a procedure that does not exist
  client.api.auth.whoami.query();
  // @ts-expect-error auth.me is a query: it has no mutate
  client.api.auth.me.mutate();
  // @ts-expect-error operators' procedures are not the phone's
  client.api.admin.listUsers.query({});
  // @ts-expect-error auth.refresh needs its refresh token
  client.api.auth.refresh.mutate();
  // @ts-expect-error a note needs its text
  client.api.notes.create.mutate({});
  // @ts-expect-error user.updateProfile takes an object
  client.api.user.updateProfile.mutate('Alice');
  // @ts-expect-error the user has no session_key, nor anything else not in the output
  client.api.auth.me.query().then((me) => me.sessionKey);
  // @ts-expect-error a nickname can be null
  client.api.auth.me.query().then((me) => me.nickName.length);
  // @ts-expect-error sessions is a list
  client.api.user.sessions.query().then((sessions) => sessions.current);
  // @ts-expect-error not a reason
  const reason: ErrorReason = 'NOT_A_REASON';
  // @ts-expect-error an option the client does not have
  createMiniProgramClient({ url: 'https://example.com/trpc', wx, retries: 3 });
  // @ts-expect-error the cloud transport needs its environment and service
  createMiniProgramClient({ transport: 'cloud', wx });
  // @ts-expect-error only a cloud client binds a phone by cloudID
  client.bindPhoneByCloudID('cloud-id');
  return reason;
}
`;

let built: { dir: string; cjs: string; dts: string };
const folders: string[] = [];
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-client-types-'));
  const { declarations } = await buildClient({ quiet: true, outDir: dir });
  built = { dir, cjs: join(dir, 'wxlogin-client.cjs'), dts: declarations! };
});
afterAll(() => {
  for (const dir of [built?.dir, ...folders]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A mini program's folder: the built client in lib/, the two packages, `files` (path → text). */
function miniProgramFolder(files: Record<string, string>): string {
  const folder = mkdtempSync(join(tmpdir(), 'mini-program-'));
  folders.push(folder);
  mkdirSync(join(folder, 'lib'));
  cpSync(built.cjs, join(folder, 'lib/wxlogin-client.js'));
  cpSync(built.dts, join(folder, 'lib/wxlogin-client.d.ts'));
  mkdirSync(join(folder, 'node_modules'));
  for (const pkg of ['typescript', 'miniprogram-api-typings']) symlinkSync(join(repo, 'node_modules', pkg), join(folder, 'node_modules', pkg), 'dir');
  for (const [path, text] of Object.entries({ 'tsconfig.json': JSON.stringify(MINI_PROGRAM_TSCONFIG, null, 2), ...files })) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), text);
  }
  return folder;
}

/** The folder's own tsc (its node_modules/typescript) on its tsconfig: exit code and output. */
function tsc(folder: string, ...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(folder, 'node_modules/typescript/bin/tsc'), '-p', folder, '--pretty', 'false', ...args],
      { cwd: folder, encoding: 'utf8' },
      (err, stdout, stderr) => done({ code: err ? Number(err.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

/** tsc checks miniprogram-api-typings too (skipLibCheck false): seconds on an idle machine, more on a busy one. */
const TSC_TIMEOUT = 240_000;

let typedPage: Promise<{ folder: string; code: number; output: string }> | undefined;
/** The typed page's folder, compiled once (to out/) for the tests that check and run it. */
function compiledTypedPage() {
  typedPage ??= (async () => {
    const folder = miniProgramFolder({ 'pages/typed/typed.ts': TYPED_PAGE });
    return { folder, ...(await tsc(folder, '--noEmit', 'false', '--rootDir', folder, '--outDir', join(folder, 'out'))) };
  })();
  return typedPage;
}

describe('wxlogin-client.d.ts', () => {
  it('stands alone: no imports, nothing of tRPC, the server, Node or the DOM', () => {
    const dts = readFileSync(built.dts, 'utf8');
    expect(dts).not.toMatch(/^\s*import\b|\bimport\(|\brequire\(|declare module|\/\/\/ <reference/m);
    // Doc comments may speak of URLs and tRPC; the declarations may not name them.
    const code = dts.replace(/\/\*\*[^]*?\*\//g, '');
    for (const name of ['TRPC', 'AppRouter', 'mongoose', 'fastify', 'pino', 'AbortSignal', 'URL', 'Blob', 'FormData', 'EventSource', 'WebSocket', 'Disposable', 'PromiseSettledResult', 'Buffer', 'NodeJS']) {
      expect(code, name).not.toMatch(new RegExp(`\\b${name}\\b`));
    }
    // The client's API and the router's procedures, the operators' left out.
    expect(dts).toMatch(/export declare function createMiniProgramClient\(/);
    expect(dts).toMatch(/export declare function errorReason\(err: unknown\): ClientErrorReason;/);
    expect(dts).toMatch(/export type ErrorReason = /);
    expect(dts).toContain("me: { query(input?: RouterInputs['auth']['me'], opts?: CallOptions): Promise<RouterOutputs['auth']['me']> };");
    expect(code).not.toMatch(/\badmin\b|listUsers/);
  });

  it('a TypeScript page compiles with only the client files and the typings; each wrong call fails', async () => {
    const { code, output } = await compiledTypedPage();
    expect(output).toBe('');
    expect(code).toBe(0);
  }, TSC_TIMEOUT);

  it('without their @ts-expect-error, the wrong calls fail to compile, each where it is', async () => {
    const lines = TYPED_PAGE.split('\n');
    const expected: number[] = [];
    const unmarked = lines.filter((line) => {
      if (!line.includes('@ts-expect-error')) return true;
      expected.push(lines.indexOf(line) + 1 - expected.length); // the line below, once the marker is gone
      return false;
    });
    expect(expected.length).toBe(15);
    const folder = miniProgramFolder({ 'pages/typed/typed.ts': unmarked.join('\n') });
    const { code, output } = await tsc(folder);
    expect(code).not.toBe(0);
    const errorLines = [...output.matchAll(/pages\/typed\/typed\.ts\((\d+),\d+\): error TS\d+/g)].map((m) => Number(m[1]));
    expect([...new Set(errorLines)]).toEqual(expected);
    expect(output).toMatch(/Property 'whoami' does not exist/);
    expect(output).toMatch(/Property 'admin' does not exist/);
    expect(output).toMatch(/'me\.nickName' is possibly 'null'/);
  }, TSC_TIMEOUT);

  it('the compiled page runs in a mini program realm against the server: the declared shapes are the real ones', async () => {
    const { folder, code } = await compiledTypedPage();
    expect(code).toBe(0);

    const realm = createMiniProgramRealm(REALM_VARIANTS[0]!);
    try {
      installWx(realm, t.sim.app, uniqueOpenId('typed'));
      const lib = realm.loadModule(readFileSync(built.cjs, 'utf8'), 'lib/wxlogin-client.js');
      const page = realm.loadModule(readFileSync(join(folder, 'out/pages/typed/typed.js'), 'utf8'), 'pages/typed/typed.js', (spec) => {
        if (spec === '../../lib/wxlogin-client') return lib;
        throw new Error(`unexpected require(${spec})`);
      }) as { exercise(url: string): Promise<unknown> };
      const result = JSON.parse(JSON.stringify(await page.exercise(`${t.url}/trpc`))) as Record<string, unknown>;
      expect(result).toEqual({
        sameUser: true,
        isNewUser: true,
        nickName: 'Typed',
        createdAtIsDate: true,
        sessionCount: 1,
        currentLastUsedIsDate: true,
        updatedNickName: 'Typed too',
        pong: 'pong',
        keyValid: true,
        noteTexts: ['typed note'],
        noteCreatedAtIsDate: true,
        noteGone: 'NOTE_NOT_FOUND',
        refused: 'REFRESH_TOKEN_INVALID',
        retryAfterS: null,
        serverReason: 'REFRESH_TOKEN_INVALID',
        storedUserIsMe: true,
        sessionAfterLogout: null,
        transportError: 'TIMEOUT',
      });
    } finally {
      realm.dispose();
    }
  }, TSC_TIMEOUT);
});

describe('the example mini program (examples/miniprogram)', () => {
  it('type-checks in a folder of its own, with its own tsconfig', async () => {
    const example = join(repo, 'examples/miniprogram');
    const folder = miniProgramFolder({});
    cpSync(example, folder, { recursive: true, filter: (src) => !src.startsWith(join(example, 'lib')) });
    const { code, output } = await tsc(folder);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, TSC_TIMEOUT);
});
