import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * One devdb build at a time across processes. Two builds at once (`npm start` and `npm test` on a
 * fresh clone) would remove and rewrite the same patched FerretDB copy under each other's `go
 * build`. The lock is a directory (mkdir is atomic) holding the owner's pid; a lock whose owner
 * is gone (a build killed midway) is taken over.
 */
export async function withBuildLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  opts: { pollMs?: number; onWait?: (ownerPid: number | null) => void } = {},
): Promise<T> {
  const pollMs = opts.pollMs ?? 250;
  let waited = false;
  for (;;) {
    if (tryTake(lockDir)) break;
    const owner = ownerOf(lockDir);
    if (owner === 'gone') {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!waited) opts.onWait?.(owner);
    waited = true;
    await sleep(pollMs);
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function tryTake(lockDir: string): boolean {
  try {
    mkdirSync(lockDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  writeFileSync(join(lockDir, 'pid'), String(process.pid));
  return true;
}

/** Between mkdir and the pid file's write another process may look: give a new lock that long. */
const PID_WRITE_GRACE_MS = 10_000;

/** The owner's pid; null while a fresh lock has no pid yet; 'gone' when the owner no longer runs. */
function ownerOf(lockDir: string): number | null | 'gone' {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
  } catch {
    try {
      return Date.now() - statSync(lockDir).mtimeMs > PID_WRITE_GRACE_MS ? 'gone' : null;
    } catch {
      return null; // released meanwhile: the next try takes it
    }
  }
  if (!Number.isInteger(pid) || pid <= 0) return 'gone';
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return pid;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : 'gone';
  }
}
