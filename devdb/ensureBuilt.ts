import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

/** Where the built embedded database lives (ignored by git). */
export const DEVDB_BINARY = join(here, 'bin', 'devdb');

/** The build is cached; it is redone only when the Go sources or the Go version change. */
async function sourceStamp(): Promise<string> {
  const h = createHash('sha256');
  for (const f of ['main.go', 'go.mod', 'go.sum']) h.update(readFileSync(join(here, f)));
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
 * Builds devdb (FerretDB v1 as a library, SQLite backend) with the Go toolchain through the Go
 * module proxy, unless an up-to-date build is cached. Returns the binary's path.
 */
export async function ensureDevdbBuilt(log: (line: string) => void = () => {}): Promise<string> {
  const stamp = await sourceStamp();
  const stampFile = `${DEVDB_BINARY}.stamp`;
  if (existsSync(DEVDB_BINARY) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
    return DEVDB_BINARY;
  }
  mkdirSync(dirname(DEVDB_BINARY), { recursive: true });
  log('building the embedded database (FerretDB v1, SQLite) with go build; first time takes a minute or two');
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' };
  const opts = { cwd: here, env, maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 };
  try {
    await run('go', ['build', '-trimpath', '-o', DEVDB_BINARY, '.'], opts);
  } catch (err) {
    // A newer Go may refuse an old dependency's go:linkname; this flag lifts that check.
    log(`go build failed (${firstLine(err)}); retrying with -checklinkname=0`);
    await run('go', ['build', '-trimpath', '-ldflags=-checklinkname=0', '-o', DEVDB_BINARY, '.'], opts);
  }
  writeFileSync(stampFile, stamp);
  return DEVDB_BINARY;
}

export function firstLine(err: unknown): string {
  const text = (err as { stderr?: string }).stderr || (err as Error).message || String(err);
  return text.trim().split('\n')[0] ?? '';
}
