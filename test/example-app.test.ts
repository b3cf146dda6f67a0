import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { builtClient, createMiniProgramRealm, REALM_VARIANTS, type MiniProgramRealm } from './helpers/miniProgramRealm';
import { startTestBackend, uniqueOpenId, type TestBackend } from './helpers/testBackend';
import { installWx, type WxStandIn } from './helpers/wxStandIn';

/**
 * The example mini program (examples/miniprogram), its own app.js and pages, running against the
 * real server with the client bundle the real build just made. Each test is a fresh "phone": a
 * mini program realm (test/helpers/miniProgramRealm.ts: ECMAScript, console, timers, wx, plus
 * App, Page, getApp) and a small module loader for `require` inside examples/miniprogram.
 *
 * The example is TypeScript, and its .ts files are what ships: WeChat's developer tools compile
 * each to JavaScript (project.config.json, useCompilerPlugins), as the loader here does with
 * TypeScript's transpileModule and the example's own tsconfig. Its types are checked apart, in a
 * folder of its own (test/client-types.test.ts).
 *
 * The loader hands the app `{ url }` of the test server for config.ts (the example's config.ts
 * stays as a team would ship it), and the fresh build for lib/wxlogin-client.js.
 */
const exampleDir = resolve(dirname(fileURLToPath(import.meta.url)), '../examples/miniprogram');
const exampleOptions = ts.getParsedCommandLineOfConfigFile(join(exampleDir, 'tsconfig.json'), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
})!.options;

/** A mini program's module file as the developer tools make it: TypeScript to CommonJS JavaScript. */
function moduleSource(file: string): string {
  const source = readFileSync(file, 'utf8');
  return file.endsWith('.ts') ? ts.transpileModule(source, { compilerOptions: exampleOptions, fileName: file }).outputText : source;
}

interface PageDef {
  data: Record<string, unknown>;
  [method: string]: unknown;
}
interface PageInstance {
  data: Record<string, any>;
  setData(patch: Record<string, unknown>): void;
  [method: string]: any;
}
interface ExampleApp {
  client: { session(): { accessToken: string } | null };
  [key: string]: any;
}
interface Phone {
  wx: WxStandIn;
  toasts: { title: string; icon?: string }[];
  relaunches: string[];
  /** The wx.showModal dialogs shown, and the answers the user gives them in turn (true: confirm). */
  modals: string[];
  modalAnswers: boolean[];
  app: ExampleApp;
  /** Loads a page's JS (as WeChat does when it opens it) and creates an instance: onLoad has run. */
  openPage(route: string): Promise<PageInstance>;
  /** Evaluates an expression in the phone's global scope. */
  evaluate(code: string): unknown;
}

let t: TestBackend;
let bundle: string;
beforeAll(async () => {
  ({ cjs: bundle } = await builtClient());
  t = await startTestBackend({ AUTH_REGISTRATION: 'explicit' });
});
afterAll(async () => {
  await t?.stop();
});
const realms: MiniProgramRealm[] = [];
afterEach(() => {
  for (const realm of realms.splice(0)) realm.dispose();
});

function launch(openid: string, url = `${t.url}/trpc`): Phone {
  const toasts: { title: string; icon?: string }[] = [];
  const relaunches: string[] = [];
  const modals: string[] = [];
  const modalAnswers: boolean[] = [];
  let appObject: ExampleApp | undefined;
  const pages = new Map<string, PageDef>();
  let loadingPage = '';

  const realm = createMiniProgramRealm(REALM_VARIANTS[0]!, {
    App: (def: ExampleApp) => {
      appObject = def;
    },
    Page: (def: PageDef) => {
      pages.set(loadingPage, def);
    },
    getApp: () => appObject,
  });
  realms.push(realm);
  const wx = installWx(realm, t.sim.app, openid, {
    extras: {
      showToast: (opts) => void toasts.push(opts as { title: string; icon?: string }),
      navigateTo: (opts) => {
        throw new Error(`unexpected navigateTo ${(opts as { url: string }).url}`);
      },
      navigateBack: () => {},
      reLaunch: (opts) => void relaunches.push((opts as { url: string }).url),
      // Its answer goes to the page's success callback.
      showModal: (opts) => {
        modals.push((opts as { title: string }).title);
        const confirm = modalAnswers.shift() ?? false;
        return { confirm, cancel: !confirm };
      },
    },
  });

  const cache = new Map<string, unknown>();
  /** `require` of a module path without its extension: the .ts file, or the bundle's .js. */
  function load(path: string): unknown {
    const rel = relative(exampleDir, path);
    if (rel.startsWith('..')) throw new Error(`require outside the mini program: ${path}`);
    if (rel === 'config') return realm.json({ url });
    if (cache.has(rel)) return cache.get(rel);
    const source = rel === join('lib', 'wxlogin-client') ? bundle : moduleSource(`${path}.ts`);
    const requireFrom = (spec: string) => load(resolve(dirname(path), spec.replace(/\.js$/, '')));
    const exports = realm.loadModule(source, `${rel}.js`, requireFrom);
    cache.set(rel, exports);
    return exports;
  }

  // As WeChat does: app.js first (it calls App(), then onLaunch if it has one), then each page's
  // JS when it is first opened.
  load(join(exampleDir, 'app'));
  if (!appObject) throw new Error('app.js did not call App()');
  const app = appObject;
  app.onLaunch?.({});

  return {
    wx,
    toasts,
    relaunches,
    modals,
    modalAnswers,
    app,
    evaluate: (code) => realm.evaluate(code),
    async openPage(route) {
      if (!pages.has(route)) {
        loadingPage = route;
        load(join(exampleDir, route));
      }
      const def = pages.get(route);
      if (!def) throw new Error(`${route}.js did not call Page()`);
      const page: PageInstance = {
        ...def,
        data: JSON.parse(JSON.stringify(def.data)) as Record<string, unknown>,
        route,
        setData(patch) {
          Object.assign(this.data, patch);
        },
      };
      await page.onLoad?.({});
      return page;
    },
  };
}

const SESSION_KEY = 'wxlogin.session';

/** The first launch of a new user, through the login page: tap, fill in the profile, register. */
async function registerThroughLoginPage(phone: Phone, nickName: string) {
  const page = await phone.openPage('pages/login/login');
  const login = page.onLoginTap() as Promise<void>;
  // The app asks for the profile: the login page shows its form.
  await vi.waitFor(() => expect(page.data.needProfile).toBe(true), { timeout: 10_000 });
  page.onChooseAvatar({ detail: { avatarUrl: 'http://tmp/avatar-1234.jpeg' } });
  page.onNickname({ detail: { value: `  ${nickName} ` } });
  page.onRegisterTap();
  await login;
  return page;
}

describe('the example mini program', () => {
  it('first launch: log in, register with the fill-in profile, keep the session', async () => {
    const openid = uniqueOpenId('example');
    const phone = launch(openid);
    // tRPC needs an AbortController and URL; the bundle binds its own and leaves the app's globals
    // alone, also once the app has made its client.
    expect(phone.app.client).toBeTruthy();
    expect(phone.evaluate('typeof AbortController')).toBe('undefined');
    expect(phone.evaluate('typeof URL')).toBe('undefined');

    const page = await registerThroughLoginPage(phone, 'Alice');

    expect(page.data).toMatchObject({ loading: false, needProfile: false, isNewUser: true, error: '' });
    expect(page.data.user).toMatchObject({ openId: openid, nickName: 'Alice' });
    expect(page.data.user.avatarUrl ?? null).toBeNull(); // the temporary avatar path is not sent
    expect(phone.toasts).toEqual([{ title: 'Welcome!', icon: 'success' }]);

    const stored = phone.wx.stored(SESSION_KEY) as { accessToken: string; userId: string };
    expect(stored.accessToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(stored.userId).toBe(page.data.user.id);
    expect(phone.wx.counts.login).toBe(1); // the registration reused the login's ticket

    const user = await t.backend.services.db.User.findOne({ openId: openid }).lean();
    expect(user).toMatchObject({ openId: openid, nickName: 'Alice', status: 'active' });
    expect(user!.avatarUrl ?? null).toBeNull();
    expect(String(user!._id)).toBe(page.data.user.id);
    expect(await t.backend.services.db.User.countDocuments({ openId: openid })).toBe(1);
  });

  it('a returning user on a new phone logs in without the form; the home page shows them', async () => {
    const openid = uniqueOpenId('example');
    const first = launch(openid);
    const registered = await registerThroughLoginPage(first, 'Bob');
    expect(registered.data.isNewUser).toBe(true);

    const phone = launch(openid); // same WeChat user, empty storage
    expect(phone.wx.storedKeys()).toEqual([]);
    const login = await phone.openPage('pages/login/login');
    await login.onLoginTap();
    expect(login.data).toMatchObject({ loading: false, needProfile: false, isNewUser: false, error: '' });
    expect(login.data.user).toMatchObject({ id: registered.data.user.id, nickName: 'Bob' });
    expect(phone.toasts).toEqual([{ title: 'Welcome back', icon: 'success' }]);
    expect(phone.wx.stored(SESSION_KEY)).toMatchObject({ userId: registered.data.user.id });

    const requestsBefore = phone.wx.counts.request;
    const home = await phone.openPage('pages/index/index');
    expect(home.data).toMatchObject({ loading: false, error: '' });
    expect(home.data.user).toMatchObject({ id: registered.data.user.id, openId: openid, nickName: 'Bob' });
    // One auth.me call with the stored session: no second login.
    expect(phone.wx.counts.request - requestsBefore).toBe(1);
    expect(phone.wx.counts.login).toBe(1);
  });

  it('the home page of a fresh phone logs in by itself for a returning user', async () => {
    const openid = uniqueOpenId('example');
    const first = launch(openid);
    await registerThroughLoginPage(first, 'Carol');

    const phone = launch(openid);
    const home = await phone.openPage('pages/index/index');
    expect(home.data).toMatchObject({ loading: false, error: '' });
    expect(home.data.user).toMatchObject({ openId: openid, nickName: 'Carol' });
    expect(phone.wx.counts.login).toBe(1);
    expect(phone.app.client.session()?.accessToken).toBeTruthy();
  });

  it('log out on the home page: the session ends on the server, back to the login page', async () => {
    const openid = uniqueOpenId('example');
    const phone = launch(openid);
    await registerThroughLoginPage(phone, 'Dave');
    const { refreshToken } = phone.wx.stored(SESSION_KEY) as { refreshToken: string };
    const home = await phone.openPage('pages/index/index');
    await home.onLogoutTap();
    expect(phone.relaunches).toEqual(['/pages/login/login']);
    expect(phone.wx.stored(SESSION_KEY)).toBeUndefined();
    expect(phone.toasts).toEqual([{ title: 'Welcome!', icon: 'success' }]);
    const refused = await t.client().auth.refresh.mutate({ refreshToken }).catch((err: { data?: { reason?: string } }) => err.data?.reason);
    expect(refused).toBe('REFRESH_TOKEN_INVALID');
  });

  it("the notes page: the example module's procedures from the phone, its own reason handled", async () => {
    const phone = launch(uniqueOpenId('example'));
    await registerThroughLoginPage(phone, 'Nora');
    const page = await phone.openPage('pages/notes/notes');
    expect(page.data).toMatchObject({ notes: [], error: '' });

    page.onInput({ detail: { value: 'buy rice' } });
    await page.onAddTap();
    page.onInput({ detail: { value: 'call mum' } });
    await page.onAddTap();
    expect(page.data.notes.map((n: { text: string }) => n.text)).toEqual(['call mum', 'buy rice']);
    expect(page.data.text).toBe('');

    // Deleted here, then a stale second tap: NOTE_NOT_FOUND, which the page takes as done.
    const target = { currentTarget: { dataset: { id: page.data.notes[1].id } } };
    await page.onDeleteTap(target);
    await page.onDeleteTap(target);
    expect(page.data.notes.map((n: { text: string }) => n.text)).toEqual(['call mum']);
    expect(page.data.error).toBe('');

    // An empty note is the server's INVALID_INPUT, told to the user.
    page.onInput({ detail: { value: '   ' } });
    await page.onAddTap();
    expect(page.data.error).toBe('INVALID_INPUT');
    expect(phone.toasts.at(-1)).toMatchObject({ icon: 'none' });
  });

  it('the settings page: "delete my account" asks first; confirmed, the account is deleted, the phone forgets it, back to login', async () => {
    const openid = uniqueOpenId('example');
    const phone = launch(openid);
    await registerThroughLoginPage(phone, 'Gina');
    const { refreshToken, userId } = phone.wx.stored(SESSION_KEY) as { refreshToken: string; userId: string };
    const page = await phone.openPage('pages/settings/settings');

    // Cancelled in the dialog: nothing happens.
    phone.modalAnswers.push(false);
    await page.onDeleteAccountTap();
    expect(phone.modals).toEqual(['Delete my account']);
    expect(phone.relaunches).toEqual([]);
    expect(await t.backend.services.db.User.countDocuments({ _id: userId })).toBe(1);

    phone.modalAnswers.push(true);
    await page.onDeleteAccountTap();
    expect(phone.relaunches).toEqual(['/pages/login/login']);
    expect(phone.toasts.at(-1)).toEqual({ title: 'Account deleted', icon: 'none' });
    expect(phone.wx.stored(SESSION_KEY)).toBeUndefined();
    expect(page.data.error).toBe('');
    expect(await t.backend.services.db.User.countDocuments({ _id: userId })).toBe(0);
    const refused = await t.client().auth.refresh.mutate({ refreshToken }).catch((err: { data?: { reason?: string } }) => err.data?.reason);
    expect(refused).toBe('REFRESH_TOKEN_INVALID');
  });

  it('log out without network: the phone forgets the session and says the server was not told', async () => {
    const openid = uniqueOpenId('example');
    const phone = launch(openid);
    await registerThroughLoginPage(phone, 'Erin');
    const home = await phone.openPage('pages/index/index');
    phone.wx.failRequests(1);
    await home.onLogoutTap();
    expect(phone.relaunches).toEqual(['/pages/login/login']);
    expect(phone.wx.stored(SESSION_KEY)).toBeUndefined();
    expect(phone.toasts.at(-1)).toEqual({ title: 'Logged out here only (NETWORK)', icon: 'none' });
  });

  it('server unreachable: the login page shows NETWORK and tells the user', async () => {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as { port: number };
    await new Promise<void>((done) => server.close(() => done()));

    const openid = uniqueOpenId('example');
    const phone = launch(openid, `http://127.0.0.1:${port}/trpc`);
    const page = await phone.openPage('pages/login/login');
    await page.onLoginTap();

    expect(page.data).toMatchObject({ loading: false, needProfile: false, user: null, error: 'NETWORK' });
    expect(phone.toasts).toEqual([{ title: 'No network, try again', icon: 'none' }]);
    expect(phone.wx.stored(SESSION_KEY)).toBeUndefined();
    expect(await t.backend.services.db.User.countDocuments({ openId: openid })).toBe(0);
  });

  it('a new user who cancels the form: REGISTRATION_DECLINED, nobody is created', async () => {
    const openid = uniqueOpenId('example');
    const phone = launch(openid);
    const page = await phone.openPage('pages/login/login');
    const login = page.onLoginTap() as Promise<void>;
    await vi.waitFor(() => expect(page.data.needProfile).toBe(true), { timeout: 10_000 });
    page.onCancelTap();
    await login;

    expect(page.data).toMatchObject({ loading: false, needProfile: false, user: null, error: 'REGISTRATION_DECLINED' });
    expect(phone.toasts).toEqual([{ title: 'Registration cancelled', icon: 'none' }]);
    expect(await t.backend.services.db.User.countDocuments({ openId: openid })).toBe(0);
  });
});
