import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { goAvailable } from '../devdb/ensureBuilt';

/**
 * devdb/buildLock.ts, between real processes: two devdb builds at once (`npm start` and `npm test`
 * on a fresh clone) removed and rewrote the same patched FerretDB copy under each other's go build.
 */
const ROOT = resolve(__dirname, '..');
const LOADER = pathToFileURL(resolve(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const HOLDER = resolve(ROOT, 'test/fixtures/buildLockHolder.ts');
/** Without Go (tests against MONGODB_URI) the build case is reported as skipped. */
const haveGo = await goAvailable();

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function holder(lockDir: string, logFile: string, name: string, holdMs: number): Promise<void> {
  return new Promise((done, fail) =>
    execFile(process.execPath, ['--import', LOADER, HOLDER, lockDir, logFile, name, String(holdMs)], { timeout: 60_000 }, (err, _out, stderr) =>
      err ? fail(new Error(`${name}: ${err.message}\n${stderr}`)) : done(),
    ),
  );
}

const steps = (logFile: string) => readFileSync(logFile, 'utf8').trim().split('\n');

/** A fresh folder for one test: where its lock goes and where its holders log. */
function scratch() {
  dir = mkdtempSync(join(tmpdir(), 'buildlock-'));
  return { lockDir: join(dir, '.build.lock'), logFile: join(dir, 'log') };
}

/** The pid of a process that has ended. */
function endedPid(): number {
  const ended = spawnSync(process.execPath, ['-e', '']);
  expect(ended.status).toBe(0);
  return ended.pid;
}

describe('the devdb build lock', () => {
  it('lets one process build at a time: three started together take turns', async () => {
    const { lockDir, logFile } = scratch();
    await Promise.all(['a', 'b', 'c'].map((name) => holder(lockDir, logFile, name, 400)));

    const turns = steps(logFile).filter((s) => !s.startsWith('wait'));
    expect(turns).toHaveLength(6);
    for (let i = 0; i < turns.length; i += 2) {
      // Each enter is followed by the same process's exit: no two inside at once.
      expect(turns[i]).toMatch(/^enter /);
      expect(turns[i + 1]).toBe(turns[i]!.replace('enter', 'exit'));
    }
    expect(new Set(turns.map((s) => s.split(' ')[1]))).toEqual(new Set(['a', 'b', 'c']));
    expect(steps(logFile).filter((s) => s.startsWith('wait')).length).toBeGreaterThanOrEqual(1);
    expect(existsSync(lockDir)).toBe(false); // released
  });

  // A build killed midway leaves its lock behind, with its pid or (killed right after mkdir) without.
  it.each([
    ['whose process is gone', (lockDir: string) => writeFileSync(join(lockDir, 'pid'), String(endedPid()))],
    ['that never got its pid, once it is old', (lockDir: string) => utimesSync(lockDir, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000))],
  ])('takes over a lock %s', async (_, leaveBehind) => {
    const { lockDir, logFile } = scratch();
    mkdirSync(lockDir);
    leaveBehind(lockDir);

    await holder(lockDir, logFile, 'next', 0);
    expect(steps(logFile)).toEqual(['enter next', 'exit next']);
  });

  it('waits for a lock whose process still runs', async () => {
    const { lockDir, logFile } = scratch();
    mkdirSync(lockDir);
    writeFileSync(join(lockDir, 'pid'), String(process.pid)); // this test's process: alive

    const waiting = holder(lockDir, logFile, 'next', 0);
    const deadline = Date.now() + 30_000;
    while (!existsSync(logFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(steps(logFile)).toEqual(['wait next']); // still outside
    rmSync(lockDir, { recursive: true }); // the owner releases it
    await waiting;
    expect(steps(logFile)).toEqual(['wait next', 'enter next', 'exit next']);
  });

  // The defect itself: before the lock, two `npm run devdb:build` at once failed one of them in
  // each of three tries (ENOTEMPTY or EEXIST in devdb/build). A copy of devdb's sources in a temp
  // folder builds there (the Go build cache makes it a few seconds), so the repository's binary
  // is not touched.
  it.skipIf(!haveGo)('two devdb builds started at once both end with the binary; the second waits and builds nothing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'devdb-copy-'));
    const copy = join(dir, 'devdb');
    mkdirSync(copy);
    const sources = readdirSync(resolve(ROOT, 'devdb')).filter((f) => /\.(go|ts)$|^go\.(mod|sum)$|^patches$/.test(f) && !f.endsWith('.test.ts'));
    for (const f of sources) cpSync(resolve(ROOT, 'devdb', f), join(copy, f), { recursive: true });

    const build = () =>
      new Promise<string>((done, fail) =>
        execFile(process.execPath, ['--import', LOADER, join(copy, 'build.ts')], { timeout: 300_000 }, (err, stdout, stderr) =>
          err ? fail(new Error(`${err.message}\n${stdout}${stderr}`)) : done(stdout),
        ),
      );
    const outputs = await Promise.all([build(), build()]);
    for (const out of outputs) expect(out).toContain(`devdb ready: ${join(copy, 'bin', 'devdb')}`);
    expect(outputs.filter((out) => out.includes('building the embedded database'))).toHaveLength(1);
    expect(outputs.filter((out) => out.includes('waiting for the devdb build of another process'))).toHaveLength(1);
    expect(existsSync(join(copy, 'bin', '.build.lock'))).toBe(false);
  }, 600_000);
});
