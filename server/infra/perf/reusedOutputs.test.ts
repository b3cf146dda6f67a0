import superjson from 'superjson';
import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import type { StoredUser } from '../../services/users';
import { createAvatarUrls } from '../../avatars/avatarUrls';
import { reusedMeOutput, transformer } from './reusedOutputs';

const avatarUrls = createAvatarUrls('https://api.example.com');
const NOTHING_DUE: readonly string[] = Object.freeze([]);
const reusedUserOutput = (user: StoredUser, openId: string, consentRequired = NOTHING_DUE) => reusedMeOutput(user, openId, consentRequired, avatarUrls);

const storedUser = (nickName: string): StoredUser =>
  ({
    _id: new Types.ObjectId(),
    openId: 'o_first_app',
    status: 'active',
    nickName,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-02T00:00:00Z'),
    lastLoginAt: new Date('2026-01-03T00:00:00Z'),
    phone: { countryCode: '86', purePhoneNumber: '13800000000', phoneNumber: '+86 13800000000', boundAt: new Date() },
    sessionKeyEnc: 'must never show',
  }) as unknown as StoredUser;

describe('outputs built once per cached user', () => {
  it('the same stored user and app give the same validated, frozen output, serialized once', () => {
    const user = storedUser('Alice');
    const first = reusedUserOutput(user, 'o_app_a');
    expect(reusedUserOutput(user, 'o_app_a')).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.phone)).toBe(true);
    expect(first).toMatchObject({ id: String(user._id), openId: 'o_app_a', nickName: 'Alice' });
    expect(JSON.stringify(first)).not.toContain('must never show');
    const wire = transformer.serialize(first);
    expect(transformer.serialize(first)).toBe(wire);
    expect(superjson.deserialize(wire)).toEqual(superjson.deserialize(superjson.serialize(first)));
  });

  it('another app, or the user as stored after a change, gives another output', () => {
    const user = storedUser('Alice');
    expect(reusedUserOutput(user, 'o_app_b').openId).toBe('o_app_b');
    const renamed = { ...user, nickName: 'Bob' } as StoredUser;
    expect(reusedUserOutput(renamed, 'o_app_a').nickName).toBe('Bob');
    expect(reusedUserOutput(user, 'o_app_a').nickName).toBe('Alice');
  });

  it('another consent list gives another output; the same list object, the same output', () => {
    const user = storedUser('Alice');
    const first = reusedUserOutput(user, 'o_app_a');
    expect(first.consentRequired).toEqual([]);
    const due = Object.freeze(['privacy']);
    const flagged = reusedUserOutput(user, 'o_app_a', due);
    expect(flagged).not.toBe(first);
    expect(flagged.consentRequired).toEqual(['privacy']);
    expect(reusedUserOutput(user, 'o_app_a', due)).toBe(flagged);
    expect(Object.isFrozen(flagged.consentRequired)).toBe(true);
  });

  it('any other value is serialized afresh each time', () => {
    const mutable = { n: 1, at: new Date(0) };
    expect(superjson.deserialize(transformer.serialize(mutable))).toEqual({ n: 1, at: new Date(0) });
    mutable.n = 2;
    expect(superjson.deserialize(transformer.serialize(mutable))).toEqual({ n: 2, at: new Date(0) });
  });
});
