import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import {
  wechatAccessTokenLeaseModel,
  type WechatAccessTokenFields,
  type WechatAccessTokenLeaseFields,
  type WechatAccessTokenModel,
} from '../db/models/wechatAccessToken';
import { AppError, isDuplicateKey } from '../errors';
import type { SecretBox } from '../secrets/secretBox';
import { requestWeChatJson, type WeChatHttpOptions } from './requestJson';

export interface AccessTokenManagerOptions {
  model: WechatAccessTokenModel;
  box: SecretBox;
  apps: { appId: string; appSecret: string; apiBaseUrl: string }[];
  http: WeChatHttpOptions;
  /** 'stable' (preferred): POST cgi-bin/stable_token. 'plain': GET cgi-bin/token. */
  mode: 'stable' | 'plain';
  now?: () => Date;
  /** Refresh this long before expiry (default 300). */
  refreshMarginS?: number;
  /** How long a refresh lease lasts without a heartbeat (default 10_000). */
  leaseMs?: number;
  /** This instance's name in the lease (default random). */
  instanceId?: string;
  /** How often a waiting instance re-reads the database (default 100). */
  pollMs?: number;
}

export interface AccessTokenManager {
  /** A valid token: from memory, else from the database, else fetched from WeChat (by one instance). */
  get(appId: string): Promise<string>;
  /**
   * Drops the token here and in the database (only if the database still holds that same token;
   * the database write waits for the refresh lease, as every write of the token document does).
   */
  invalidate(appId: string, badToken: string): Promise<void>;
  /** Calls fn with a token; on errcode 40001 / 40014 / 42001 invalidates, fetches anew, retries once. */
  withToken<T>(appId: string, fn: (token: string) => Promise<T>): Promise<T>;
  stats(): { memoryHits: number; dbHits: number; fetches: number };
}

/** WeChat's "this access token is invalid / not the latest / expired". */
const TOKEN_REJECTED_ERRCODES = new Set([40001, 40014, 42001]);

const tokenAnswer = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().int().positive(),
});

/** Lease generations whose claims are kept (older ones are deleted). */
const CLAIMS_KEPT = 20;

interface HeldLease {
  claimId: string;
  /** Stops the heartbeat and waits for a beat in flight, so the holder's next write cannot overlap it. */
  stopHeartbeat(): Promise<void>;
}

interface KnownToken {
  token: string;
  hash: string;
  expiresAt: Date;
  fetchedAt: Date | null;
}

const sha256 = (token: string): string => createHash('sha256').update(token).digest('hex');

function errcodeOf(err: unknown): number | undefined {
  const errcode = typeof err === 'object' && err !== null ? (err as { errcode?: unknown }).errcode : undefined;
  return typeof errcode === 'number' ? errcode : undefined;
}

/**
 * Keeps each mini program's server access token: a memory cache per process, one refresh at a time
 * per process (single flight), and one refresh at a time across instances through a lease in
 * MongoDB. Neither the token nor the secret is ever logged or put into an error.
 */
export function createAccessTokenManager(opts: AccessTokenManagerOptions): AccessTokenManager {
  const { model, box, http, mode } = opts;
  const now = opts.now ?? (() => new Date());
  const marginMs = (opts.refreshMarginS ?? 300) * 1000;
  const leaseMs = opts.leaseMs ?? 10_000;
  const pollMs = opts.pollMs ?? 100;
  const instanceId = opts.instanceId ?? randomBytes(8).toString('hex');
  // The lease claims live next to the tokens, on the same connection.
  const leases = wechatAccessTokenLeaseModel(model.db);
  const apps = new Map(opts.apps.map((app) => [app.appId, app]));
  // A waiter gives up after the longest a live holder can take (its lease plus a whole fetch with
  // retries and backoff) and once more for a holder that died just before that.
  const backoffMs = http.backoffMs ?? 100;
  const fetchBudgetMs = http.timeoutMs * (http.retries + 1) + backoffMs * 2 ** (http.retries + 1);
  const maxWaitMs = 2 * leaseMs + fetchBudgetMs + 5_000;

  const memory = new Map<string, KnownToken>();
  const flights = new Map<string, Promise<string>>();
  const counters = { memoryHits: 0, dbHits: 0, fetches: 0 };

  /**
   * Fresh until `margin` before expiry. A token that came with a short life (stable_token hands out
   * the current token with what remains of it) gets half its life as margin instead, so it is not
   * refetched on every call.
   */
  function isFresh(expiresAt: Date, fetchedAt: Date | null): boolean {
    const lifetimeMs = fetchedAt ? expiresAt.getTime() - fetchedAt.getTime() : Infinity;
    const margin = Math.min(marginMs, Math.max(0, lifetimeMs / 2));
    return now().getTime() < expiresAt.getTime() - margin;
  }

  function appOf(appId: string) {
    const app = apps.get(appId);
    if (!app) throw new AppError('WECHAT_APP_UNKNOWN', 'No mini program with this appId is configured');
    return app;
  }

  /** The token the document holds, if it is fresh, opens, and is not the one WeChat rejected. */
  function usableFromDoc(doc: WechatAccessTokenFields | null, rejectedHash: string | undefined): KnownToken | undefined {
    if (!doc?.tokenEnc || !doc.tokenHash || !doc.expiresAt) return undefined;
    if (doc.tokenHash === rejectedHash) return undefined;
    if (!isFresh(doc.expiresAt, doc.fetchedAt ?? null)) return undefined;
    let token: string;
    try {
      token = box.open(doc.tokenEnc);
    } catch {
      // Sealed under another key (a rotated DATA_ENCRYPTION_KEY) or altered: fetch anew over it.
      return undefined;
    }
    if (sha256(token) !== doc.tokenHash) return undefined;
    return { token, hash: doc.tokenHash, expiresAt: doc.expiresAt, fetchedAt: doc.fetchedAt ?? null };
  }

  const readDoc = (appId: string) => model.findById(appId).lean<WechatAccessTokenFields>().exec();

  const leaseLive = (owner: string | null | undefined, until: Date | null | undefined, at: Date): boolean =>
    !!owner && !!until && until.getTime() > at.getTime();

  /*
   * FerretDB v1 applies an update as read, modify, write back the whole document, with no
   * isolation: concurrent conditional updates all match, and concurrent updates of one document
   * lose each other's fields. Two rules follow. The lease is won by inserting a unique `_id` (the
   * one atomic step), and only the lease holder ever writes the token document (its lease mirror,
   * heartbeat, token and release, one after another), so no two writes to it overlap.
   */

  /**
   * Takes the lease when it is free or expired: inserts the claim for the next generation; the
   * insert that wins is the holder. A lease shown on the token document (`leaseOwner` /
   * `leaseUntil`) or a live latest claim means someone else holds it. Once won, the lease is
   * mirrored onto the token document and kept alive by a heartbeat until `endLease`.
   */
  async function tryTakeLease(appId: string, doc: WechatAccessTokenFields | null): Promise<HeldLease | undefined> {
    const at = now();
    if (leaseLive(doc?.leaseOwner, doc?.leaseUntil, at)) return undefined;
    const latest = await leases.findOne({ appId }).sort({ gen: -1 }).lean<WechatAccessTokenLeaseFields>().exec();
    if (latest && !latest.released && leaseLive(latest.owner, latest.until, at)) return undefined;
    const gen = (latest?.gen ?? 0) + 1;
    const claimId = `${appId}#${gen}`;
    const until = new Date(at.getTime() + leaseMs);
    try {
      await leases.create({ _id: claimId, appId, gen, owner: instanceId, until });
    } catch (err) {
      if (isDuplicateKey(err)) return undefined;
      throw err;
    }
    try {
      await model.updateOne({ _id: appId }, { $set: { leaseOwner: instanceId, leaseUntil: until } }, { upsert: true });
    } catch (err) {
      await leases.updateOne({ _id: claimId }, { $set: { released: true } }).catch(() => undefined);
      throw err;
    }
    // Keep a few recent generations, so that a claim made from a stale read still collides.
    leases.deleteMany({ appId, gen: { $lte: gen - CLAIMS_KEPT } }).catch(() => undefined);

    // A live holder keeps its lease through a slow fetch (timeouts, retries); a dead one stops
    // beating and its lease runs out within leaseMs. Beats are chained, never overlapping.
    let beat: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      beat = beat.then(() => {
        const next = new Date(now().getTime() + leaseMs);
        return Promise.all([
          leases.updateOne({ _id: claimId }, { $set: { until: next } }),
          model.updateOne({ _id: appId, leaseOwner: instanceId }, { $set: { leaseUntil: next } }),
        ]).catch(() => undefined);
      });
    }, Math.max(1, Math.floor(leaseMs / 3)));
    timer.unref();
    return {
      claimId,
      async stopHeartbeat() {
        clearInterval(timer);
        await beat;
      },
    };
  }

  /** The holder's last write: `fields` (the new token, if any) and the cleared lease, then the claim released. */
  async function endLease(appId: string, lease: HeldLease, fields: Record<string, unknown> = {}): Promise<void> {
    await lease.stopHeartbeat();
    // Only while we still hold it: if the lease was taken over, the new holder's document wins.
    await model.updateOne({ _id: appId, leaseOwner: instanceId }, { $set: { ...fields, leaseOwner: null, leaseUntil: null } });
    await leases.updateOne({ _id: lease.claimId }, { $set: { released: true } });
  }

  async function fetchFromWeChat(appId: string, forceRefresh: boolean): Promise<{ token: string; expiresInS: number }> {
    const app = appOf(appId);
    let body: object;
    if (mode === 'plain') {
      const query = new URLSearchParams({ grant_type: 'client_credential', appid: app.appId, secret: app.appSecret });
      body = await requestWeChatJson(`${app.apiBaseUrl}/cgi-bin/token?${query}`, { method: 'GET' }, http);
    } else {
      body = await requestWeChatJson(
        `${app.apiBaseUrl}/cgi-bin/stable_token`,
        { method: 'POST', body: { grant_type: 'client_credential', appid: app.appId, secret: app.appSecret, force_refresh: forceRefresh } },
        http,
      );
    }
    const parsed = tokenAnswer.safeParse(body);
    if (!parsed.success) throw new AppError('WECHAT_ERROR', 'WeChat answered the access token request with an unexpected shape');
    return { token: parsed.data.access_token, expiresInS: parsed.data.expires_in };
  }

  /** As the lease holder: fetch from WeChat and write the token, unless one appeared meanwhile. */
  async function fetchAsHolder(appId: string, lease: HeldLease, rejectedHash: string | undefined): Promise<string> {
    try {
      // Between our read and the lease another holder may have written a token and let go.
      const doc = await readDoc(appId);
      const written = usableFromDoc(doc, rejectedHash);
      if (written) {
        await endLease(appId, lease);
        counters.dbHits += 1;
        memory.set(appId, written);
        return written.token;
      }
      // force_refresh only when the token WeChat rejected is still the current one (or none is
      // left): it is limited to a few a day, and another instance may already have replaced it.
      const force = rejectedHash !== undefined && (!doc?.tokenHash || doc.tokenHash === rejectedHash);
      const { token, expiresInS } = await fetchFromWeChat(appId, force);
      counters.fetches += 1;
      const fetchedAt = now();
      const known: KnownToken = { token, hash: sha256(token), expiresAt: new Date(fetchedAt.getTime() + expiresInS * 1000), fetchedAt };
      // Ours even if the database write below fails: a retry is then served from memory.
      memory.set(appId, known);
      await endLease(appId, lease, { tokenEnc: box.seal(token), tokenHash: known.hash, expiresAt: known.expiresAt, fetchedAt });
      return token;
    } catch (err) {
      await endLease(appId, lease).catch(() => undefined);
      throw err;
    }
  }

  /** From the database, or by taking the lease and fetching, or by waiting for the holder. */
  async function refresh(appId: string, rejectedHash: string | undefined): Promise<string> {
    appOf(appId);
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const doc = await readDoc(appId);
      const written = usableFromDoc(doc, rejectedHash);
      if (written) {
        counters.dbHits += 1;
        memory.set(appId, written);
        return written.token;
      }
      const lease = await tryTakeLease(appId, doc);
      if (lease) return fetchAsHolder(appId, lease, rejectedHash);
      if (Date.now() >= deadline) {
        throw new AppError('WECHAT_UNAVAILABLE', 'The WeChat access token is being refreshed elsewhere; try again shortly');
      }
      await sleep(pollMs);
    }
  }

  /** A fresh token other than the rejected one; one refresh per appId at a time in this process. */
  async function obtain(appId: string, rejectedHash?: string): Promise<string> {
    for (;;) {
      const cached = memory.get(appId);
      if (cached && cached.hash !== rejectedHash && isFresh(cached.expiresAt, cached.fetchedAt)) {
        counters.memoryHits += 1;
        return cached.token;
      }
      const running = flights.get(appId);
      if (running) {
        // Its failure is ours too: joiners do not retry one by one.
        const token = await running;
        if (rejectedHash === undefined || sha256(token) !== rejectedHash) return token;
        continue; // that flight began before the rejection and brought the bad token: run our own
      }
      const flight = refresh(appId, rejectedHash).finally(() => {
        if (flights.get(appId) === flight) flights.delete(appId);
      });
      flights.set(appId, flight);
      return flight;
    }
  }

  function dropFromMemory(appId: string, hash: string): void {
    if (memory.get(appId)?.hash === hash) memory.delete(appId);
  }

  /**
   * Clears the token in the database while it is still the bad one. Like every write of the token
   * document, under the lease: waits for a current holder (who may be replacing it anyway).
   */
  async function invalidate(appId: string, badToken: string): Promise<void> {
    const badHash = sha256(badToken);
    dropFromMemory(appId, badHash);
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const doc = await readDoc(appId);
      if (doc?.tokenHash !== badHash) return;
      const lease = await tryTakeLease(appId, doc);
      if (lease) {
        try {
          const current = await readDoc(appId);
          await endLease(appId, lease, current?.tokenHash === badHash ? { tokenEnc: null, tokenHash: null, expiresAt: null } : {});
        } catch (err) {
          await endLease(appId, lease).catch(() => undefined);
          throw err;
        }
        return;
      }
      if (Date.now() >= deadline) {
        throw new AppError('WECHAT_UNAVAILABLE', 'The WeChat access token is being refreshed elsewhere; try again shortly');
      }
      await sleep(pollMs);
    }
  }

  return {
    get: (appId) => obtain(appId),
    invalidate,
    async withToken(appId, fn) {
      const token = await obtain(appId);
      try {
        return await fn(token);
      } catch (err) {
        const errcode = errcodeOf(err);
        if (errcode === undefined || !TOKEN_REJECTED_ERRCODES.has(errcode)) throw err;
        // Refresh past the rejected token: the lease holder replaces it in the database too, so
        // the separate clear that invalidate() does would only cost another lease round.
        const rejectedHash = sha256(token);
        dropFromMemory(appId, rejectedHash);
        return fn(await obtain(appId, rejectedHash));
      }
    },
    stats: () => ({ ...counters }),
  };
}
