import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildClient, noNodeBuiltins, type BuiltFile } from '../client/build';

let files: BuiltFile[];
beforeAll(async () => {
  ({ files } = await buildClient({ quiet: true }));
});

const file = (name: string) => {
  const f = files.find((x) => basename(x.path) === name);
  if (!f) throw new Error(`${name} was not built`);
  return f;
};

/** A mini program's globals: no process, Buffer, global, URL, AbortController, fetch, require of builtins. */
function miniProgramContext(wx: unknown) {
  return vm.createContext({
    wx,
    console,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    App: () => {},
    Page: () => {},
    Component: () => {},
    getApp: () => ({}),
    getCurrentPages: () => [],
  });
}

function loadCjs(context: vm.Context, code: string) {
  const module = { exports: {} as Record<string, unknown> };
  const required: string[] = [];
  const fn = vm.runInContext(`(function (module, exports, require) {${code}\n})`, context) as (...args: unknown[]) => void;
  fn(module, module.exports, (spec: string) => {
    required.push(spec);
    throw new Error(`require(${spec}) in the bundle`);
  });
  return { exports: module.exports, required };
}

describe('the client bundle', () => {
  it('builds both formats, small', () => {
    const cjs = file('wxlogin-client.cjs');
    const esm = file('wxlogin-client.mjs');
    for (const f of [cjs, esm]) {
      expect(readFileSync(f.path).byteLength).toBe(f.bytes);
      console.log(`${basename(f.path)}: ${f.bytes} bytes (${(f.bytes / 1024).toFixed(1)} KiB), ${(f.gzipBytes / 1024).toFixed(1)} KiB gzipped`);
      expect(f.gzipBytes).toBeLessThan(40 * 1024);
      expect(f.gzipBytes).toBeGreaterThan(1024);
    }
    expect(readFileSync(new URL('../examples/miniprogram/lib/wxlogin-client.js', import.meta.url), 'utf8')).toBe(readFileSync(cjs.path, 'utf8'));
  });

  it('names no Node global and requires nothing', () => {
    for (const f of files) {
      const code = readFileSync(f.path, 'utf8');
      expect(code).not.toContain('require("');
      expect(code).not.toMatch(/\brequire\s*\(/);
      expect(code).not.toMatch(/\bprocess\.|\bBuffer\b|__dirname|__filename/);
    }
  });

  it('the CJS bundle loads and works in a context with only mini program globals', async () => {
    const requests: string[] = [];
    const wx = {
      request(opts: { url: string; fail?: (e: { errMsg: string }) => void }) {
        requests.push(opts.url);
        setTimeout(() => opts.fail?.({ errMsg: 'request:fail net::ERR_CONNECTION_REFUSED' }), 1);
        return { abort() {} };
      },
      login(opts: { success?: (r: { code: string }) => void }) {
        setTimeout(() => opts.success?.({ code: 'a-code' }), 1);
      },
      getStorageSync: () => '',
      setStorageSync() {},
      removeStorageSync() {},
    };
    const context = miniProgramContext(wx);
    for (const name of ['process', 'Buffer', 'global', 'require', 'URL', 'AbortController', 'fetch', 'TextEncoder']) {
      expect(vm.runInContext(`typeof ${name}`, context), name).toBe('undefined');
    }

    const { exports, required } = loadCjs(context, readFileSync(file('wxlogin-client.cjs').path, 'utf8'));
    expect(required).toEqual([]);
    expect(typeof exports.createMiniProgramClient).toBe('function');
    expect(typeof exports.errorReason).toBe('function');

    // Serializing with superjson and sending over wx.request work without URL or AbortController.
    const client = (exports.createMiniProgramClient as (o: unknown) => { login(): Promise<unknown> })({ url: 'https://api.example.com/trpc', wx });
    const err = await client.login().then(
      () => null,
      (e: unknown) => e,
    );
    expect((exports.errorReason as (e: unknown) => string)(err)).toBe('NETWORK');
    expect(requests).toEqual(['https://api.example.com/trpc/auth.login?batch=1']);
  });

  it('the ESM bundle exports the same', async () => {
    const mod = (await import(pathToFileURL(file('wxlogin-client.mjs').path).href)) as Record<string, unknown>;
    expect(Object.keys(mod).sort()).toEqual(['MiniProgramClientError', 'createMiniProgramClient', 'errorData', 'errorReason']);
  });

  it('an import of a Node built-in fails the build', async () => {
    for (const spec of ['node:crypto', 'crypto', 'fs/promises', 'events']) {
      await expect(
        build({
          stdin: { contents: `import x from '${spec}'; console.log(x);`, loader: 'js', resolveDir: process.cwd() },
          bundle: true,
          write: false,
          platform: 'neutral',
          plugins: [noNodeBuiltins],
          logLevel: 'silent',
        }),
        spec,
      ).rejects.toThrow(/is a Node built-in/);
    }
  });
});
