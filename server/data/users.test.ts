import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../db/connection';
import { createAvatarUrls } from '../avatars/avatarUrls';
import { reusedMeOutput } from '../infra/perf/reusedOutputs';
import { createUserStore } from './users';

let db: Database;
beforeAll(async () => {
  db = await openDatabase(inject('mongodbUri'), { dbName: `users_${randomBytes(4).toString('hex')}` });
});
afterAll(() => db.connection.close());

describe('user store with caching off (AUTH_CACHE_TTL_S=0)', () => {
  it('a read that finds the user unchanged answers with the same object; a change made elsewhere, with a new one', async () => {
    const users = createUserStore({ db, ttlMs: 0, now: Date.now });
    const created = await users.create({ openId: `o_${randomBytes(6).toString('hex')}`, registeredAppId: 'wx_app', status: 'active', nickName: 'Alice' });
    const userId = String(created._id);

    const first = await users.read(userId);
    expect(await users.get(userId)).toBe(first);
    expect(await users.read(userId)).toBe(first);
    // What is built once per user object (auth.me's answer) is then built once, not per call.
    const avatarUrls = createAvatarUrls('https://api.example.com');
    const nothingDue: readonly string[] = Object.freeze([]);
    const answer = reusedMeOutput(first!, 'o_app', nothingDue, avatarUrls);
    expect(reusedMeOutput((await users.read(userId))!, 'o_app', nothingDue, avatarUrls)).toBe(answer);

    // Another instance (or the admin CLI) renames the user: the next read shows it at once.
    await db.User.collection.updateOne({ _id: created._id }, { $set: { nickName: 'Bob' } });
    const renamed = await users.read(userId);
    expect(renamed).not.toBe(first);
    expect(renamed!.nickName).toBe('Bob');
    expect(reusedMeOutput(renamed!, 'o_app', nothingDue, avatarUrls).nickName).toBe('Bob');
    expect(await users.read(userId)).toBe(renamed);

    // Deleted elsewhere: null.
    await db.User.collection.deleteOne({ _id: created._id });
    expect(await users.read(userId)).toBeNull();
  });
});
