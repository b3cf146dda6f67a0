import superjson from 'superjson';
import { userOutput, type UserOutput } from '../../../shared';
import type { AvatarUrls } from '../../avatars/avatarUrls';
import { toUserOutput, type StoredUser } from '../../services/users';

/**
 * Outputs that stay the same for many calls are built, validated and serialized once. auth.me
 * answers with the same user for as long as the user is cached (server/data/users.ts), and
 * building, validating and superjson-walking it again on every call was most of what an
 * authenticated call cost beyond the no-op. Objects marked here are frozen and never mutated.
 */
const reused = new WeakSet<object>();
const serialized = new WeakMap<object, ReturnType<typeof superjson.serialize>>();

function markReused<T extends object>(value: T): T {
  reused.add(Object.freeze(value));
  return value;
}

/** superjson, taking the serialized form of a reused output from memory. */
export const transformer = {
  serialize(value: unknown) {
    if (typeof value !== 'object' || value === null || !reused.has(value)) return superjson.serialize(value);
    let done = serialized.get(value);
    if (!done) {
      done = superjson.serialize(value);
      serialized.set(value, done);
    }
    return done;
  },
  deserialize: (value: Parameters<typeof superjson.deserialize>[0]) => superjson.deserialize(value),
};

// Per stored user object (a new one each time the cache reloads or a write replaces it), per openid.
const userOutputs = new WeakMap<StoredUser, Map<string, UserOutput>>();

/** The user as the API shows it, validated against userOutput: built once per cached user and app. */
export function reusedUserOutput(user: StoredUser, openId: string, avatarUrls: AvatarUrls): UserOutput {
  let byOpenId = userOutputs.get(user);
  if (!byOpenId) userOutputs.set(user, (byOpenId = new Map()));
  let output = byOpenId.get(openId);
  if (!output) {
    const parsed = userOutput.parse(toUserOutput(user, openId, avatarUrls));
    if (parsed.phone) Object.freeze(parsed.phone);
    output = markReused(parsed);
    byOpenId.set(openId, output);
  }
  return output;
}
