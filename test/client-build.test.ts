import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildClient, noNodeBuiltins, type BuiltFile } from '../client/build';

let files: BuiltFile[];
beforeAll(async () => {
  // The declarations (wxlogin-client.d.ts) have their own tests: test/client-types.test.ts.
  ({ files } = await buildClient({ quiet: true, declarations: false }));
});

const file = (name: string) => {
  const f = files.find((x) => basename(x.path) === name);
  if (!f) throw new Error(`${name} was not built`);
  return f;
};

// What the bundle does at run time is tested in a mini program realm (test/client.e2e.test.ts,
// test/helpers/miniProgramRealm.ts); this file covers the build itself.
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
