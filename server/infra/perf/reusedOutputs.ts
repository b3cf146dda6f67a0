import superjson from 'superjson';
import { meOutput, type MeOutput } from '../../../shared';
import type { AvatarUrls } from '../../avatars/avatarUrls';
import { toUserOutput, type StoredUser } from '../../services/users';

/**
 * Outputs that stay the same for many calls are built, validated and serialized once. auth.me
 * answers with the same user for as long as the user is cached (server/data/users.ts) and the
 * same consent list for as long as that is cached (server/data/consents.ts), and
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

// Per stored user object (a new one each time the cache reloads or a write replaces it), per
// openid: the last auth.me answer and the consent list it was built with.
const meOutputs = new WeakMap<StoredUser, Map<string, { consentRequired: readonly string[]; output: MeOutput }>>();

/**
 * auth.me's answer: the user's output and the documents still to accept. Built once per cached
 * user, app and consent list: the consent store (server/data/consents.ts) hands out the same frozen
 * list while its entry is fresh, so a cached call rebuilds nothing.
 */
export function reusedMeOutput(user: StoredUser, openId: string, consentRequired: readonly string[], avatarUrls: AvatarUrls): MeOutput {
  let byOpenId = meOutputs.get(user);
  if (!byOpenId) meOutputs.set(user, (byOpenId = new Map()));
  const built = byOpenId.get(openId);
  if (built && built.consentRequired === consentRequired) return built.output;
  const parsed = meOutput.parse({ ...toUserOutput(user, openId, avatarUrls), consentRequired });
  if (parsed.phone) Object.freeze(parsed.phone);
  Object.freeze(parsed.consentRequired);
  const output = markReused(parsed);
  byOpenId.set(openId, { consentRequired, output });
  return output;
}
