import { Types } from 'mongoose';
import type { Database } from '../db/connection';
import { MAX_RECORDS_PER_DOCUMENT, type StoredConsentRecord } from '../db/models/consent';
import { isDuplicateKey } from '../errors';
import { createBoundedCache } from '../infra/perf/boundedCache';

/**
 * Consent records (server/db/models/consent.ts), read and written through one place that keeps
 * its cache right by itself, like the user store (server/data/users.ts).
 *
 * auth.me says which configured documents the user has not accepted at their current version.
 * auth.me is a hot path: the answer is kept per user for `ttlMs` (AUTH_CACHE_TTL_S, the same bound
 * as a ban's), computed once per read of the user's consents document (by `_id`). An acceptance
 * recorded by this process shows at once; one recorded by another instance within `ttlMs`. With no
 * CONSENT_VERSIONS nothing is ever due and nothing is read.
 */
export interface ConsentStore {
  /** The configured documents not accepted at their current version, sorted; frozen. From memory while fresh. */
  required(userId: string): readonly string[] | Promise<readonly string[]>;
  /** Appends acceptances; returns what is still required afterwards. */
  append(userId: string, records: StoredConsentRecord[]): Promise<readonly string[]>;
  /** Every stored record of the user, oldest first, from the database. */
  records(userId: string): Promise<StoredConsentRecord[]>;
}

/** One frozen empty list for every user with nothing due: auth.me's reused output stays the same object. */
export const NOTHING_REQUIRED: readonly string[] = Object.freeze([]);
const MAX_ENTRIES = 50_000;

type RawConsents = { _id: Types.ObjectId; records: StoredConsentRecord[] };

export function createConsentStore(deps: { db: Database; versions: Readonly<Record<string, string>>; ttlMs: number; now: () => number }): ConsentStore {
  const collection = deps.db.Consent.collection;
  const configured = Object.entries(deps.versions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const cache = createBoundedCache<string, readonly string[]>({ maxEntries: MAX_ENTRIES, ttlMs: deps.ttlMs, now: deps.now });
  // Bumped by every write: a read that started before one must not store its older answer.
  const generations = new Map<string, number>();

  function requiredBy(records: StoredConsentRecord[]): readonly string[] {
    const due = configured.filter(([document, version]) => !records.some((r) => r.document === document && r.version === version)).map(([d]) => d);
    return due.length === 0 ? NOTHING_REQUIRED : Object.freeze(due);
  }

  async function read(userId: string): Promise<readonly string[]> {
    const generation = generations.get(userId) ?? 0;
    const doc = await collection.findOne<RawConsents>({ _id: new Types.ObjectId(userId) }, { projection: { records: 1 } });
    const required = requiredBy(doc?.records ?? []);
    if ((generations.get(userId) ?? 0) === generation) cache.set(userId, required);
    return required;
  }

  /**
   * $push, atomic on MongoDB (two acceptances at once both stay). Past the bound of a document the
   * oldest of its records go, by a write conditional on the list being the one just read: should
   * another append land in between, nothing is trimmed now and the next append trims.
   */
  async function push(_id: Types.ObjectId, records: StoredConsentRecord[]): Promise<StoredConsentRecord[]> {
    const pushed = () =>
      collection.findOneAndUpdate({ _id }, { $push: { records: { $each: records } } as never }, { upsert: true, returnDocument: 'after' }) as Promise<RawConsents | null>;
    let doc;
    try {
      doc = await pushed();
    } catch (err) {
      // Two first acceptances of one user upserted at once: the document exists now.
      if (!isDuplicateKey(err)) throw err;
      doc = await pushed();
    }
    const list = doc?.records ?? [];
    const kept = trimmed(list);
    if (kept.length === list.length) return list;
    const { matchedCount } = await collection.updateOne({ _id, records: list }, { $set: { records: kept } });
    return matchedCount === 1 ? kept : list;
  }

  return {
    required(userId) {
      if (configured.length === 0 || !Types.ObjectId.isValid(userId)) return NOTHING_REQUIRED;
      return cache.get(userId) ?? read(userId);
    },
    async append(userId, records) {
      cache.delete(userId);
      const list = await push(new Types.ObjectId(userId), records);
      // A read that started before the push must not store what it read.
      if (generations.size >= MAX_ENTRIES) generations.clear(); // only in-flight reads looked at these
      generations.set(userId, (generations.get(userId) ?? 0) + 1);
      const required = requiredBy(list);
      cache.set(userId, required);
      return required;
    },
    async records(userId) {
      if (!Types.ObjectId.isValid(userId)) return [];
      const doc = await collection.findOne<RawConsents>({ _id: new Types.ObjectId(userId) });
      return doc?.records ?? [];
    },
  };
}

/** The list with at most MAX_RECORDS_PER_DOCUMENT records of each document: the newest (the list is oldest first). */
function trimmed(list: StoredConsentRecord[]): StoredConsentRecord[] {
  const seen = new Map<string, number>();
  const keep = new Array<boolean>(list.length);
  for (let i = list.length - 1; i >= 0; i--) {
    const n = (seen.get(list[i]!.document) ?? 0) + 1;
    seen.set(list[i]!.document, n);
    keep[i] = n <= MAX_RECORDS_PER_DOCUMENT;
  }
  return list.filter((_, i) => keep[i]);
}
