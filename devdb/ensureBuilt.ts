import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { withBuildLock } from './buildLock';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

/** Where the built embedded database lives (ignored by git). */
export const DEVDB_BINARY = join(here, 'bin', 'devdb');

/** The patched copy of FerretDB and the go.mod that points at it (ignored by git, remade on every build). */
const BUILD_DIR = join(here, 'build');
/** Held while a build runs (devdb/buildLock.ts); beside the binary, ignored by git like it. */
const BUILD_LOCK = join(here, 'bin', '.build.lock');
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
/** Unified diffs against the FerretDB module, applied in file name order (see patches/README.md). */
const PATCHES_DIR = 'patches';

/** Everything the binary is built from, in a fixed order: our Go files, go.mod and go.sum, the patches. */
function buildInputs(dir: string): string[] {
  const goFiles = readdirSync(dir).filter((f) => f.endsWith('.go'));
  const patches = existsSync(join(dir, PATCHES_DIR)) ? readdirSync(join(dir, PATCHES_DIR)).map((f) => join(PATCHES_DIR, f)) : [];
  return [...goFiles, 'go.mod', 'go.sum', ...patches].sort();
}

/** The build is cached; it is redone when any of its inputs (names and contents) or the Go version change. */
export async function sourceStamp(dir = here): Promise<string> {
  const h = createHash('sha256');
  for (const f of buildInputs(dir)) {
    const content = readFileSync(join(dir, f));
    h.update(`${f}\0${content.length}\0`);
    h.update(content);
  }
  const { stdout } = await run('go', ['version']);
  h.update(stdout);
  return h.digest('hex');
}

export async function goAvailable(): Promise<boolean> {
  try {
    await run('go', ['version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds devdb (FerretDB v1 as a library, SQLite backend, with our patches) with the Go toolchain
 * through the Go module proxy, unless an up-to-date build is cached. Returns the binary's path.
 */
export async function ensureDevdbBuilt(log: (line: string) => void = () => {}): Promise<string> {
  const stamp = await sourceStamp();
  const stampFile = `${DEVDB_BINARY}.stamp`;
  const upToDate = () => existsSync(DEVDB_BINARY) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
  if (upToDate()) return DEVDB_BINARY;
  mkdirSync(dirname(DEVDB_BINARY), { recursive: true });
  const onWait = (pid: number | null) => log(`waiting for the devdb build of another process${pid ? ` (pid ${pid})` : ''}`);
  return withBuildLock(
    BUILD_LOCK,
    async () => {
      // The process we waited for may have built this very source.
      if (!upToDate()) await build(stamp, stampFile, log);
      return DEVDB_BINARY;
    },
    { onWait },
  );
}

async function build(stamp: string, stampFile: string, log: (line: string) => void): Promise<void> {
  log('building the embedded database (FerretDB v1 patched, SQLite) with go build; first time takes a minute or two');
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' };
  const opts = { cwd: here, env, maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 };
  const modfile = await preparePatchedFerretDB(opts);
  const goBuild = ['build', '-trimpath', `-modfile=${modfile}`, '-o', DEVDB_BINARY];
  try {
    await run('go', [...goBuild, '.'], opts);
  } catch (err) {
    // A newer Go may refuse an old dependency's go:linkname; this flag lifts that check.
    log(`go build failed (${firstLine(err)}); retrying with -checklinkname=0`);
    await run('go', [...goBuild, '-ldflags=-checklinkname=0', '.'], opts);
  }
  writeFileSync(stampFile, stamp);
}

/**
 * Copies the FerretDB module out of the Go module cache into BUILD_DIR, applies patches/*.patch to
 * the copy, and writes a go.mod (our own plus a `replace` to the copy) for `go build -modfile`.
 * A copy, because the module cache is read-only and `go build -overlay` cannot replace files in it.
 * Returns the go.mod's path; go reads the go.sum beside it.
 */
async function preparePatchedFerretDB(opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<string> {
  const { stdout } = await run('go', ['mod', 'download', '-json', FERRETDB_MODULE], opts).catch((err: unknown) => {
    throw new Error(`devdb: go mod download ${FERRETDB_MODULE} failed: ${firstLine(err)}`);
  });
  const { Dir: moduleDir, Version: version } = JSON.parse(stdout) as { Dir?: string; Version?: string };
  if (!moduleDir) throw new Error(`devdb: go mod download ${FERRETDB_MODULE} named no directory`);

  rmSync(BUILD_DIR, { recursive: true, force: true });
  const source = join(BUILD_DIR, 'ferretdb');
  cpSync(moduleDir, source, { recursive: true });
  makeWritable(source);

  const patches = readdirSync(join(here, PATCHES_DIR))
    .filter((f) => f.endsWith('.patch'))
    .sort();
  for (const patch of patches) {
    // GIT_CEILING_DIRECTORIES: git must not find this repository above the copy, or it would
    // apply the patch's paths relative to the repository's root instead of the copy.
    const env = { ...opts.env, GIT_CEILING_DIRECTORIES: BUILD_DIR };
    await run('git', ['apply', '--whitespace=nowarn', join(here, PATCHES_DIR, patch)], { cwd: source, env }).catch((err: unknown) => {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'git is needed to apply it and was not found' : firstLine(err);
      throw new Error(`devdb: patch ${PATCHES_DIR}/${patch} does not apply to ${FERRETDB_MODULE} ${version}: ${why}`);
    });
  }

  const modfile = join(BUILD_DIR, 'go.mod');
  writeFileSync(modfile, `${readFileSync(join(here, 'go.mod'), 'utf8')}\nreplace ${FERRETDB_MODULE} => ${source}\n`);
  cpSync(join(here, 'go.sum'), join(BUILD_DIR, 'go.sum'));
  return modfile;
}

/** The module cache's files and folders are read-only; the copy must take patches and later be removed. */
function makeWritable(dir: string) {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
  }
}

export function firstLine(err: unknown): string {
  const text = (err as { stderr?: string }).stderr || (err as Error).message || String(err);
  return text.trim().split('\n')[0] ?? '';
}
