import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { buildClient } from '../../client/build';

/**
 * A JavaScript realm with only what a mini program's runtime has: ECMAScript's built-ins,
 * `console`, the four timers and (installed by wxStandIn.ts) `wx`. No FormData, Blob, fetch,
 * URL, URLSearchParams, TextEncoder/TextDecoder, AbortController, process, Buffer, require,
 * queueMicrotask (recent base libraries have it; the client must not need it, so it is left out),
 * nor WebAssembly (mini programs have WXWebAssembly instead). One variant has no `globalThis`
 * either, as on iOS before 12.2.
 *
 * The client is tested here as it ships: the bundle the real build writes (into a temporary
 * directory), loaded as WeChat loads a module file. Values cross between the realm and the test
 * only as primitives or through the bundle's own exports, so the bundle never touches an object
 * of Node's realm.
 */

export type ClientModule = typeof import('../../client/index');

export interface RealmVariant {
  name: string;
  globalThis: boolean;
}

export const REALM_VARIANTS: RealmVariant[] = [
  { name: 'a mini program realm', globalThis: true },
  { name: 'a mini program realm without globalThis', globalThis: false },
];

/** ECMAScript built-ins of a fresh realm, less what is not ECMAScript (and not in a mini program). */
const NOT_IN_A_MINI_PROGRAM = ['WebAssembly'];
export const ECMASCRIPT_GLOBALS: readonly string[] = (
  vm.runInContext('Object.getOwnPropertyNames(this)', vm.createContext({})) as string[]
).filter((name) => !NOT_IN_A_MINI_PROGRAM.includes(name) && name !== 'console');

export const MINI_PROGRAM_GLOBALS = ['console', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'wx'] as const;

export interface MiniProgramRealm {
  readonly variant: RealmVariant;
  readonly context: vm.Context;
  /** Runs code in the realm's global scope (sloppy mode, like a console). */
  evaluate<T = unknown>(code: string): T;
  /** A copy of `value` made of the realm's own objects (JSON types only): inputs and app data. */
  json<T>(value: T): T;
  /** The realm's own global names (to prove what it has). */
  globalNames(): string[];
  /**
   * Runs a file as WeChat runs a module: a function of `module`, `exports` (and `require` where
   * the caller gives one); returns `module.exports`.
   */
  loadModule(source: string, filename: string, require?: (spec: string) => unknown): unknown;
  /** Loads the built client bundle (dist/client/wxlogin-client.cjs, built into a temporary directory). */
  loadClient(): Promise<ClientModule>;
  /** Pending timers cancelled; the realm is not used again. */
  dispose(): void;
}

/** The realm's timers return numbers, like a mini program's; the host's timers run them. */
const TIMERS_SOURCE = `(function (host) {
  'use strict';
  var slice = Array.prototype.slice;
  function schedule(repeat) {
    return function (fn, ms) {
      var args = slice.call(arguments, 2);
      return host.schedule(function () { fn.apply(undefined, args); }, Number(ms) || 0, repeat);
    };
  }
  function cancel(id) { host.cancel(Number(id)); }
  return { setTimeout: schedule(false), setInterval: schedule(true), clearTimeout: cancel, clearInterval: function (id) { cancel(id); } };
})`;

export function createMiniProgramRealm(variant: RealmVariant, extraGlobals: Record<string, unknown> = {}): MiniProgramRealm {
  const context = vm.createContext({});
  const evaluate = <T>(code: string, filename = 'realm.js') => vm.runInContext(code, context, { filename }) as T;

  const timers = new Map<number, NodeJS.Timeout>();
  let nextTimer = 1;
  const host = {
    schedule(fn: () => void, ms: number, repeat: boolean): number {
      const id = nextTimer++;
      const run = () => {
        if (!repeat) timers.delete(id);
        fn();
      };
      timers.set(id, repeat ? setInterval(run, ms) : setTimeout(run, ms));
      return id;
    },
    cancel(id: number) {
      const timer = timers.get(id);
      if (timer) clearTimeout(timer); // clears intervals too
      timers.delete(id);
    },
  };
  const realmTimers = evaluate<(h: typeof host) => Record<string, unknown>>(TIMERS_SOURCE, 'timers.js')(host);

  for (const name of NOT_IN_A_MINI_PROGRAM) evaluate(`delete ${name}`);
  Object.assign(context, { console, ...realmTimers, ...extraGlobals });
  if (!variant.globalThis) evaluate('delete globalThis');
  if (evaluate('typeof globalThis') !== (variant.globalThis ? 'object' : 'undefined')) throw new Error('could not set up globalThis');

  const realm: MiniProgramRealm = {
    variant,
    context,
    evaluate: (code) => evaluate(code),
    json: <T>(value: T) => evaluate<(text: string) => T>('JSON.parse')(JSON.stringify(value)),
    globalNames: () => evaluate<string[]>('Object.getOwnPropertyNames(this)').slice(),
    loadModule(source, filename, require) {
      const module = evaluate<{ exports: unknown }>('({ exports: {} })');
      const fn = evaluate<(...args: unknown[]) => void>(`(function (module, exports, require) {${source}\n})`, filename);
      fn(module, module.exports, require);
      return module.exports;
    },
    async loadClient() {
      const { cjs } = await builtClient();
      return realm.loadModule(cjs, 'wxlogin-client.js') as ClientModule;
    },
    dispose() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
  return realm;
}

let built: Promise<{ cjs: string; esm: string }> | undefined;

/** The real build (client/build.ts), into a temporary directory, once per test file. */
export function builtClient(): Promise<{ cjs: string; esm: string }> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxlogin-client-'));
    try {
      await buildClient({ quiet: true, outDir: dir, declarations: false });
      return {
        cjs: readFileSync(join(dir, 'wxlogin-client.cjs'), 'utf8'),
        esm: readFileSync(join(dir, 'wxlogin-client.mjs'), 'utf8'),
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return built;
}
