/**
 * Bundles the server for production: server/main.ts → dist/server/main.mjs (ESM, Node 20, with a
 * source map). Packages stay external: they are loaded from node_modules at run time, so the
 * bundle holds only this repository's own code.
 *
 *   npm run build          then   npm run start:prod   (= node dist/server/main.mjs)
 */
import { readFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, formatMessages, type Message, type Plugin } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SERVER_ENTRY = join(root, 'server/main.ts');
export const SERVER_BUNDLE = join(root, 'dist/server/main.mjs');

/**
 * In a bundle every module shares the bundle's `import.meta.url`, which breaks modules that find
 * files beside their source (devdb/ensureBuilt.ts finds main.go and its binary that way). So each
 * module keeps its own URL: the source file's, resolved from wherever the bundle is.
 */
const ownImportMetaUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const fromBundle = relative(dirname(SERVER_BUNDLE), args.path).split('\\').join('/');
      const own = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', own), loader: 'ts' };
    });
  },
};

async function describe(kind: 'error' | 'warning', messages: Message[]): Promise<string> {
  return (await formatMessages(messages, { kind, color: false })).join('\n');
}

/**
 * Builds dist/server/main.mjs; throws with esbuild's messages on an error or a warning. `outfile`
 * writes it elsewhere (tests build into a folder of their own), but it still runs as
 * dist/server/main.mjs of an app folder (as in the image): module URLs are relative to that.
 */
export async function buildServer(opts: { quiet?: boolean; outfile?: string } = {}): Promise<{ path: string; bytes: number; ms: number }> {
  const started = performance.now();
  const outfile = opts.outfile ?? SERVER_BUNDLE;
  const result = await build({
    entryPoints: [SERVER_ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    legalComments: 'none',
    plugins: [ownImportMetaUrl],
    logLevel: 'silent',
  }).catch(async (err: { errors?: Message[] }) => {
    throw new Error(`Building ${relative(root, outfile)} failed:\n${await describe('error', err.errors ?? [])}`);
  });
  if (result.warnings.length) {
    throw new Error(`Building ${relative(root, outfile)} gave warnings (treated as errors):\n${await describe('warning', result.warnings)}`);
  }
  const bytes = statSync(outfile).size;
  const ms = Math.round(performance.now() - started);
  if (!opts.quiet) console.log(`${relative(root, outfile)}  ${(bytes / 1024).toFixed(1)} KiB (+ .map) in ${ms} ms`);
  return { path: outfile, bytes, ms };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  buildServer().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
