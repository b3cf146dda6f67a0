import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startServerProcess, type ServerProcess } from './helpers/serverProcess';

const LIMIT = 6;

/** Counters live in fixed minute windows: start a burst well inside one so it is counted in one. */
async function awayFromMinuteBoundary() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 5000) await new Promise((res) => setTimeout(res, left + 50));
}

describe('three server processes on one database (RATE_LIMIT_STORE=mongodb)', () => {
  const servers: ServerProcess[] = [];
  let cwd: string;

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'wxlogin-ratelimit-'));
    const env = {
      NODE_ENV: 'test',
      MONGODB_URI: `${inject('mongodbUri').replace(/\/?$/, '/')}ratelimit_${randomBytes(4).toString('hex')}`,
      RATE_LIMIT_STORE: 'mongodb',
      RATE_LIMIT_IP_PER_MIN: String(LIMIT),
      PORT: '0',
      LOG_LEVEL: 'info',
    };
    // One after another: three tsx start-ups at once only contend for two cores.
    for (let i = 0; i < 3; i++) servers.push(await startServerProcess({ env, cwd }));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(cwd, { recursive: true, force: true });
  });

  it(`hold the per-IP limit of ${LIMIT} a minute together, not ${LIMIT} each`, async () => {
    await awayFromMinuteBoundary();
    const answers = await Promise.all(
      Array.from({ length: LIMIT * 3 }, (_, i) =>
        fetch(`${servers[i % 3]!.url}/api/auth/refresh`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refreshToken: `not-a-token-${i}` }),
        }).then(async (res) => ({ status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { error: { reason: string } } })),
      ),
    );
    const reasons = answers.map((a) => a.body.error.reason);
    expect(reasons.filter((r) => r === 'REFRESH_TOKEN_INVALID')).toHaveLength(LIMIT);
    expect(reasons.filter((r) => r === 'RATE_LIMITED')).toHaveLength(LIMIT * 2);
    for (const limited of answers.filter((a) => a.status === 429)) expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
  });
});
