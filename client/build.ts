/**
 * Bundles the mini program client (client/index.ts with @trpc/client, superjson and everything
 * else it imports) into one file a mini program can `require`:
 *
 *   dist/client/wxlogin-client.cjs   CommonJS, for `require('./lib/wxlogin-client.js')`
 *   dist/client/wxlogin-client.mjs   ES module, for tools that want one
 *   dist/client/wxlogin-client.d.ts  its types, standing alone (client/emitTypes.ts)
 *   examples/miniprogram/lib/wxlogin-client.js (and .d.ts)   copies for the example app
 *
 * ES2018, minified, no Node polyfills: the build fails if anything imports a Node built-in, if
 * esbuild warns about anything, or if the output names a Node global or uses syntax past ES2018.
 *
 *   npm run build:client
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, formatMessages, transform, type Format, type Message, type Plugin } from 'esbuild';
import { standaloneClientDeclarations } from './emitTypes';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'client/index.ts');
const defaultOutDir = join(root, 'dist/client');
const exampleCopy = join(root, 'examples/miniprogram/lib/wxlogin-client.js');
const exampleTypesCopy = join(root, 'examples/miniprogram/lib/wxlogin-client.d.ts');
const TARGET = 'es2018';

export interface BuiltFile {
  path: string;
  bytes: number;
  gzipBytes: number;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const builtinNames = [...new Set(builtinModules.map((m) => m.replace(/^node:/, '').split('/')[0]!))];

/** Any import of a Node built-in (`node:fs`, `fs`, `fs/promises` ...) is an error, never a polyfill. */
export const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  setup(b) {
    const filter = new RegExp(`^(node:.*|(${builtinNames.map(escapeRe).join('|')})(/.*)?)$`);
    b.onResolve({ filter }, (args) => ({
      errors: [{ text: `"${args.path}" is a Node built-in, which a mini program does not have (imported by ${relative(root, args.importer) || args.importer})` }],
    }));
  },
};

/**
 * tRPC's links and superjson name `URL`, `FormData`, `Blob` and `AbortController`, which a mini
 * program lacks; every such reference in the bundle is bound to this module's exports.
 */
const bundleGlobals = join(root, 'client/bundleGlobals.ts');

async function fail(what: string, messages: Message[]): Promise<never> {
  const formatted = await formatMessages(messages, { kind: 'error', color: false });
  throw new Error(`${what}:\n${formatted.join('\n')}`);
}

/** What a mini program does not have, named anywhere in the output, fails the build. */
const FORBIDDEN: [RegExp, string][] = [
  [/\brequire\s*\(/, 'require( (the bundle must be self-contained)'],
  [/\bprocess\./, 'process.'],
  [/\bBuffer\b/, 'Buffer'],
  [/\b__dirname\b/, '__dirname'],
  [/\b__filename\b/, '__filename'],
];

export async function checkOutput(file: string, code: string): Promise<void> {
  for (const [re, name] of FORBIDDEN) {
    const m = re.exec(code);
    if (m) {
      const at = m.index;
      throw new Error(`${file} references ${name}: …${code.slice(Math.max(0, at - 60), at + 60)}…`);
    }
  }
  // Parse it again, once for ES2018 and once for the newest syntax, without minifying: if the two
  // differ, esbuild had to lower something, so the output uses syntax newer than ES2018.
  const loader = 'js';
  const format = file.endsWith('.mjs') ? 'esm' : 'cjs';
  const asEs2018 = await transform(code, { loader, format, target: TARGET, logLevel: 'silent' }).catch((err: { errors?: Message[] }) =>
    fail(`${file} does not parse as ${TARGET}`, err.errors ?? []),
  );
  const asEsnext = await transform(code, { loader, format, target: 'esnext', logLevel: 'silent' });
  if (asEs2018.warnings.length) await fail(`${file}: warnings on re-parse`, asEs2018.warnings);
  if (asEs2018.code !== asEsnext.code) throw new Error(`${file} uses syntax newer than ${TARGET}`);
}

async function bundle(format: Format, outfile: string): Promise<BuiltFile> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format,
    platform: 'neutral',
    mainFields: ['module', 'main'],
    // esbuild adds "import" or "require" by how a package is imported; nothing else is needed.
    conditions: [],
    target: TARGET,
    minify: true,
    sourcemap: false,
    charset: 'utf8',
    plugins: [noNodeBuiltins],
    inject: [bundleGlobals],
    write: false,
    outfile,
    logLevel: 'silent',
  }).catch((err: { errors?: Message[] }) => fail(`Building ${relative(root, outfile)} failed`, err.errors ?? []));
  if (result.warnings.length) await fail(`Building ${relative(root, outfile)} gave warnings (treated as errors)`, result.warnings);
  const out = result.outputFiles.find((f) => f.path === outfile);
  if (!out) throw new Error(`esbuild produced no ${outfile}`);
  await checkOutput(relative(root, outfile), out.text);
  await writeAtomically(outfile, out.contents);
  return { path: outfile, bytes: out.contents.byteLength, gzipBytes: gzipSync(out.contents, { level: 9 }).byteLength };
}

/** Write then rename, so a reader (a test running next to another build) never sees half a file. */
async function writeAtomically(file: string, contents: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, file);
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/**
 * `outDir` elsewhere than dist/client (a test's temporary directory) builds the same files there
 * and leaves the example app's copy alone. `declarations: false` skips wxlogin-client.d.ts (it
 * type-checks the client and the router, seconds of work tests that run the bundle do not need).
 */
export async function buildClient(
  opts: { quiet?: boolean; outDir?: string; declarations?: boolean } = {},
): Promise<{ files: BuiltFile[]; declarations?: string }> {
  const dir = opts.outDir ?? defaultOutDir;
  mkdirSync(dir, { recursive: true });
  const cjs = await bundle('cjs', join(dir, 'wxlogin-client.cjs'));
  const esm = await bundle('esm', join(dir, 'wxlogin-client.mjs'));
  let declarations: string | undefined;
  if (opts.declarations !== false) {
    declarations = join(dir, 'wxlogin-client.d.ts');
    await writeAtomically(declarations, Buffer.from(await standaloneClientDeclarations()));
  }
  if (dir === defaultOutDir) {
    mkdirSync(dirname(exampleCopy), { recursive: true });
    await writeAtomically(exampleCopy, readFileSync(cjs.path));
    if (declarations) await writeAtomically(exampleTypesCopy, readFileSync(declarations));
  }
  const files = [cjs, esm];
  if (!opts.quiet) {
    for (const f of files) {
      console.log(`${relative(root, f.path)}  ${f.bytes} bytes (${kib(f.bytes)}) minified, ${kib(f.gzipBytes)} gzipped`);
    }
    if (declarations) console.log(`${relative(root, declarations)}  types for TypeScript mini programs (no DOM, Node or tRPC types needed)`);
  }
  return { files, declarations };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildClient().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
