import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Types } from 'mongoose';
import { describe, expect, inject, it } from 'vitest';
import type { AdminListUsersOutput } from '../shared';
import { ROOT, serverEnv } from './helpers/serverProcess';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';

// Each CLI run is a process loading tsx and the server's modules: generous on a busy machine.
describe('admin CLI: users --status deletion_pending and delete <id> (real processes on the database)', { timeout: 120_000 }, () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto', ACCOUNT_DELETION_DELAY_DAYS: '7' });
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      const env = serverEnv({ NODE_ENV: 'test', MONGODB_URI: `${inject('mongodbUri').replace(/\/?$/, '/')}${t.dbName}` });
      execFile(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'scripts/admin.ts'), ...args], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
    });
  const signUp = async (label: string) => {
    const openId = uniqueOpenId(label);
    const login = await t.client().auth.login.mutate({ code: t.wxLogin(openId) });
    return { openId, login, api: t.client({ token: login.accessToken }) };
  };

  it('lists the pending deletions with their time, and deletes at once, pending or not', async () => {
    const pending = await signUp('pending');
    const active = await signUp('active');
    const scheduled = await pending.api.user.deleteAccount.mutate({ code: t.wxLogin(pending.openId) });
    if (scheduled.status !== 'scheduled') throw new Error('expected a scheduled deletion');

    const listed = await cli(['users', '--status', 'deletion_pending', '--json']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const page = JSON.parse(listed.stdout) as AdminListUsersOutput;
    expect(page.items.map((u) => [u.id, u.deletionScheduledFor])).toEqual([[pending.login.user.id, scheduled.scheduledFor.toISOString()]]);
    const table = await cli(['users', '--status', 'deletion_pending']);
    expect(table.stdout.split('\n')[0]).toMatch(/DELETION AT$/);
    expect(table.stdout).toContain(`${scheduled.scheduledFor.toISOString().slice(0, 19).replace('T', ' ')}Z`);

    // An operator deletes at once: the pending one, and an active one (its tokens refused too).
    const deleted = await cli(['delete', pending.login.user.id, '--json']);
    expect(deleted).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(deleted.stdout)).toEqual({ status: 'deleted' });
    const second = await cli(['delete', active.login.user.id]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`deleted user ${active.login.user.id}`);
    for (const id of [pending.login.user.id, active.login.user.id]) {
      expect(await t.backend.services.db.User.countDocuments({ _id: id })).toBe(0);
      expect(await t.backend.services.db.Identity.countDocuments({ userId: new Types.ObjectId(id) })).toBe(0);
    }
    expect(await t.backend.services.db.connection.collection('account_deletions').countDocuments({})).toBe(0);
    expect(JSON.parse((await cli(['users', '--status', 'deletion_pending', '--json'])).stdout)).toMatchObject({ items: [], total: 0 });

    const unknown = await cli(['delete', new Types.ObjectId().toHexString()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toMatch(/^error: USER_NOT_FOUND: /);
  });
});
