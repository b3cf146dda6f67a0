// In-memory state of the WeChat simulator: users and their session keys, one-time codes, access
// tokens, request counters and the fault plan. It speaks in reasons ('used', 'expired', ...);
// turning them into WeChat errcodes is the HTTP layer's job.
import { randomBytes } from 'node:crypto';

export interface SimulatorApp { appId: string; appSecret: string }

export type Endpoint = 'jscode2session' | 'token' | 'stable_token' | 'getuserphonenumber' | 'checksession';

export type FaultKind =
  | { kind: 'errcode'; errcode: number; errmsg?: string }
  | { kind: 'http500' }
  | { kind: 'garbage' }
  | { kind: 'timeout' }
  | { kind: 'reset' };

export interface StateConfig {
  apps: SimulatorApp[];
  codeTtlMs: number;
  accessTokenTtlS: number;
  now: () => number;
}

/** What getuserphonenumber answers in phone_info, minus the watermark (stamped at exchange time). */
export interface PhoneInfo { phoneNumber: string; purePhoneNumber: string; countryCode: string }

interface UserRecord {
  sessionKey: string;
  unionId?: string;
  // Counted by users(): minting a code is not logging in, exchanging it is.
  exchanged: boolean;
}

type LoginCode =
  | { kind: 'login'; appId: string; openid: string; sessionKey: string; unionId?: string; issuedAtMs: number; used: boolean }
  | { kind: 'failing'; appId: string; errcode: number; errmsg: string };

interface PhoneCode { appId: string; phone: PhoneInfo; issuedAtMs: number; used: boolean }

interface TokenRecord { appId: string; expiresAtMs: number; revoked: boolean }

export type CodeRedemption =
  | { ok: true; openid: string; sessionKey: string; unionId?: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'used' }
  | { ok: false; reason: 'failing'; errcode: number; errmsg: string };

export type PhoneRedemption = { ok: true; phone: PhoneInfo } | { ok: false; reason: 'unknown' | 'expired' | 'used' };

export type TokenCheck = { ok: true; appId: string } | { ok: false; reason: 'invalid' | 'expired' };

export interface IssuedToken { accessToken: string; expiresInS: number }

interface QueuedFault { fault: FaultKind; remaining: number }

// WeChat's codes are 32 URL-safe characters; 24 random bytes give exactly that.
const newCode = (): string => randomBytes(24).toString('base64url');

export class SimulatorState {
  private readonly appsById = new Map<string, SimulatorApp>();
  private readonly usersByApp = new Map<string, Map<string, UserRecord>>();
  private readonly loginCodes = new Map<string, LoginCode>();
  private readonly phoneCodes = new Map<string, PhoneCode>();
  private readonly tokens = new Map<string, TokenRecord>();
  // cgi-bin/token keeps one valid token per appid; stable_token keeps its own, independently.
  private readonly plainTokenOf = new Map<string, string>();
  private readonly stableTokenOf = new Map<string, string>();
  private readonly queuedFaults = new Map<Endpoint, QueuedFault[]>();
  private readonly faultRates = new Map<Endpoint, { rate: number; faults: FaultKind[] }>();
  private counters: Record<Endpoint, number> = zeroCounters();

  constructor(private readonly config: StateConfig) {
    for (const app of config.apps) this.appsById.set(app.appId, app);
  }

  app(appId: string): SimulatorApp | undefined {
    return this.appsById.get(appId);
  }

  nowMs(): number {
    return this.config.now();
  }

  // ---- users and login codes ----

  /** wx.login: the user gets a fresh session_key, bound to the code it returns. */
  mintLoginCode(appId: string, openid: string, unionId?: string): string {
    const users = this.usersOf(appId);
    const previous = users.get(openid);
    const user: UserRecord = {
      sessionKey: randomBytes(16).toString('base64'),
      // A unionid belongs to the person, not to one login, so it survives later logins.
      unionId: unionId ?? previous?.unionId,
      exchanged: previous?.exchanged ?? false,
    };
    users.set(openid, user);
    const code = newCode();
    this.loginCodes.set(code, {
      kind: 'login', appId, openid, sessionKey: user.sessionKey, unionId: user.unionId, issuedAtMs: this.nowMs(), used: false,
    });
    return code;
  }

  mintFailingCode(appId: string, errcode: number, errmsg: string): string {
    const code = newCode();
    this.loginCodes.set(code, { kind: 'failing', appId, errcode, errmsg });
    return code;
  }

  /** code2Session. A code minted for another appid is as unknown as a made-up one. */
  redeemLoginCode(appId: string, code: string): CodeRedemption {
    const record = this.loginCodes.get(code);
    if (!record || record.appId !== appId) return { ok: false, reason: 'unknown' };
    if (record.kind === 'failing') return { ok: false, reason: 'failing', errcode: record.errcode, errmsg: record.errmsg };
    if (record.used) return { ok: false, reason: 'used' };
    if (this.nowMs() - record.issuedAtMs > this.config.codeTtlMs) return { ok: false, reason: 'expired' };
    record.used = true;
    const user = this.usersOf(appId).get(record.openid);
    if (user) user.exchanged = true;
    return { ok: true, openid: record.openid, sessionKey: record.sessionKey, unionId: record.unionId };
  }

  sessionKeyOf(appId: string, openid: string): string | undefined {
    return this.usersOf(appId).get(openid)?.sessionKey;
  }

  loggedInUsers(): number {
    let count = 0;
    for (const users of this.usersByApp.values()) {
      for (const user of users.values()) if (user.exchanged) count += 1;
    }
    return count;
  }

  // ---- phone codes (getPhoneNumber button) ----

  mintPhoneCode(appId: string, phone: PhoneInfo): string {
    const code = newCode();
    // Same five minutes as a login code in WeChat, so the same TTL setting governs both.
    this.phoneCodes.set(code, { appId, phone, issuedAtMs: this.nowMs(), used: false });
    return code;
  }

  redeemPhoneCode(appId: string, code: string): PhoneRedemption {
    const record = this.phoneCodes.get(code);
    if (!record || record.appId !== appId) return { ok: false, reason: 'unknown' };
    if (record.used) return { ok: false, reason: 'used' };
    if (this.nowMs() - record.issuedAtMs > this.config.codeTtlMs) return { ok: false, reason: 'expired' };
    record.used = true;
    return { ok: true, phone: record.phone };
  }

  // ---- access tokens ----

  /** cgi-bin/token: a new token replaces (and so invalidates) the appid's previous one. */
  issuePlainToken(appId: string): IssuedToken {
    const previous = this.plainTokenOf.get(appId);
    if (previous) this.revoke(previous);
    const accessToken = this.newToken(appId);
    this.plainTokenOf.set(appId, accessToken);
    return { accessToken, expiresInS: this.config.accessTokenTtlS };
  }

  readonly stableTokenRequests: { appId: string; forceRefresh: boolean }[] = [];

  /** stable_token: reuse the current one while it lives; force_refresh mints another and leaves the old one valid. */
  stableToken(appId: string, forceRefresh: boolean): IssuedToken {
    this.stableTokenRequests.push({ appId, forceRefresh });
    const current = this.stableTokenOf.get(appId);
    const record = current ? this.tokens.get(current) : undefined;
    if (current && record && !forceRefresh && !record.revoked && record.expiresAtMs > this.nowMs()) {
      return { accessToken: current, expiresInS: Math.ceil((record.expiresAtMs - this.nowMs()) / 1000) };
    }
    const accessToken = this.newToken(appId);
    this.stableTokenOf.set(appId, accessToken);
    return { accessToken, expiresInS: this.config.accessTokenTtlS };
  }

  /**
   * A token for the open API service stand-in, which holds credentials the way WeChat's side-loaded
   * proxy does: issued without an API call, so it counts as no token or stable_token request.
   */
  grantServiceToken(appId: string): string {
    return this.newToken(appId);
  }

  checkToken(accessToken: string): TokenCheck {
    const record = this.tokens.get(accessToken);
    if (!record || record.revoked) return { ok: false, reason: 'invalid' };
    if (record.expiresAtMs <= this.nowMs()) return { ok: false, reason: 'expired' };
    return { ok: true, appId: record.appId };
  }

  revokeAllTokens(): void {
    for (const record of this.tokens.values()) record.revoked = true;
  }

  // ---- faults ----

  injectFault(endpoint: Endpoint, fault: FaultKind, times: number): void {
    if (!Number.isInteger(times) || times < 1) throw new RangeError(`times must be a positive integer, got ${times}`);
    const queue = this.queuedFaults.get(endpoint) ?? [];
    queue.push({ fault, remaining: times });
    this.queuedFaults.set(endpoint, queue);
  }

  setFaultRate(endpoint: Endpoint, rate: number, faults: FaultKind[]): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`rate must be within [0, 1], got ${rate}`);
    if (rate === 0) {
      this.faultRates.delete(endpoint);
      return;
    }
    if (faults.length === 0) throw new RangeError('a fault rate needs at least one fault kind');
    this.faultRates.set(endpoint, { rate, faults: [...faults] });
  }

  clearFaults(): void {
    this.queuedFaults.clear();
    this.faultRates.clear();
  }

  /** The fault this request must suffer, if any: injected ones first, in order, then the random rate. */
  takeFault(endpoint: Endpoint): FaultKind | undefined {
    const queue = this.queuedFaults.get(endpoint);
    const head = queue?.[0];
    if (queue && head) {
      head.remaining -= 1;
      if (head.remaining === 0) queue.shift();
      return head.fault;
    }
    const random = this.faultRates.get(endpoint);
    if (random && Math.random() < random.rate) return random.faults[Math.floor(Math.random() * random.faults.length)];
    return undefined;
  }

  // ---- counters ----

  count(endpoint: Endpoint): void {
    this.counters[endpoint] += 1;
  }

  stats(): Record<Endpoint, number> {
    return { ...this.counters };
  }

  resetStats(): void {
    this.counters = zeroCounters();
  }

  private usersOf(appId: string): Map<string, UserRecord> {
    let users = this.usersByApp.get(appId);
    if (!users) {
      users = new Map();
      this.usersByApp.set(appId, users);
    }
    return users;
  }

  private newToken(appId: string): string {
    const accessToken = randomBytes(48).toString('base64url');
    this.tokens.set(accessToken, { appId, expiresAtMs: this.nowMs() + this.config.accessTokenTtlS * 1000, revoked: false });
    return accessToken;
  }

  private revoke(accessToken: string): void {
    const record = this.tokens.get(accessToken);
    if (record) record.revoked = true;
  }
}

function zeroCounters(): Record<Endpoint, number> {
  return { jscode2session: 0, token: 0, stable_token: 0, getuserphonenumber: 0, checksession: 0 };
}
