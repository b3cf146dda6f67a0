import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../server/logger';
import { expectReason } from './helpers/expectError';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';

describe('logs', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'explicit', LOG_LEVEL: 'trace' });

  it('a whole run logs no secret it handled, and every call has a request id, procedure, outcome and duration', async () => {
    const handled: string[] = [];
    const keep = <T extends string>(v: T) => (handled.push(v), v);
    const openid = uniqueOpenId('log');

    // Register through the ticket, with the legacy encrypted profile.
    const code = keep(t.wxLogin(openid));
    const info = t.sim.app.userInfo(openid, { nickName: 'Logged' });
    handled.push(info.encryptedData, info.iv, info.signature);
    const notRegistered = await expectReason(t.client().auth.login.mutate({ code }), 'USER_NOT_REGISTERED');
    const ticket = keep(notRegistered.data.registrationTicket!);
    const reg = await t.client().auth.register.mutate({ registrationTicket: ticket, ...info });
    handled.push(reg.accessToken, reg.refreshToken);

    // Log in, refresh, bind a phone both ways, check the session, fail a few ways.
    const login = await t.client().auth.login.mutate({ code: keep(t.wxLogin(openid)) });
    handled.push(login.accessToken, login.refreshToken);
    const refreshed = await t.client().auth.refresh.mutate({ refreshToken: login.refreshToken });
    handled.push(refreshed.accessToken, refreshed.refreshToken);
    const api = t.client({ token: refreshed.accessToken });
    await api.user.bindPhone.mutate({ code: keep(t.sim.app.phoneCode(openid, { purePhoneNumber: '13912345678', countryCode: '86' })) });
    const legacy = t.sim.app.encryptPhone(openid, { purePhoneNumber: '13912345679', countryCode: '86' });
    handled.push(legacy.encryptedData);
    await api.user.bindPhone.mutate(legacy); // decrypted with the session_key stored at the last login
    await api.user.checkSession.query();
    await expectReason(t.client().auth.login.mutate({ code: keep(t.wxLogin(openid)), ...info }), 'SIGNATURE_INVALID');
    await expectReason(t.client({ token: 'not-a-token' }).auth.me.query(), 'TOKEN_INVALID');
    await api.auth.logout.mutate();

    expect(t.loggedValues(handled)).toEqual([]);
    expect(t.leakedSecrets()).toEqual([]);

    const entries = t.logLines().flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const procedures = entries.filter((e) => e.msg === 'procedure');
    expect(procedures.length).toBeGreaterThanOrEqual(10);
    for (const e of procedures) {
      expect(e).toMatchObject({ reqId: expect.any(String), procedure: expect.any(String), outcome: expect.any(String), durationMs: expect.any(Number) });
    }
    expect(procedures.map((e) => e.outcome)).toEqual(expect.arrayContaining(['ok', 'USER_NOT_REGISTERED', 'SIGNATURE_INVALID', 'TOKEN_INVALID']));
    const requests = entries.filter((e) => e.msg === 'request');
    expect(requests.every((e) => typeof e.status === 'number' && typeof e.reqId === 'string' && !String(e.path).includes('?'))).toBe(true);
  });

  it('keeps a request id given by the load balancer and echoes it', async () => {
    const res = await t.fetch('/trpc/ping', { headers: { 'x-request-id': 'lb-1234-abcd' } });
    expect(res.headers.get('x-request-id')).toBe('lb-1234-abcd');
    const line = t.logLines().find((l) => l.includes('"reqId":"lb-1234-abcd"') && l.includes('"procedure":"ping"'));
    expect(line).toBeDefined();
    const generated = await t.fetch('/trpc/ping', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('redaction', () => {
  it('removes secrets by key wherever they sit in a logged object', () => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }));
    logger.info(
      {
        session_key: 'SK-1',
        sessionKey: 'SK-2',
        user: { refreshToken: 'RT-1', accessToken: 'AT-1', nested: { appSecret: 'AS-1' } },
        req: { headers: { authorization: 'Bearer AT-2' } },
        code: 'CODE-1',
        encryptedData: 'ED-1',
      },
      'careless',
    );
    const out = lines.join('');
    for (const secret of ['SK-1', 'SK-2', 'RT-1', 'AT-1', 'AS-1', 'AT-2', 'CODE-1', 'ED-1']) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });
});

describe('metrics', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto' });

  it('exposes logins by outcome, WeChat latency and errors by errcode, token cache use, and process basics', async () => {
    const s = await t.client().auth.login.mutate({ code: t.wxLogin(uniqueOpenId('m')) });
    await expectReason(t.client().auth.login.mutate({ code: 'bad-code' }), 'WECHAT_CODE_INVALID');
    const api = t.client({ token: s.accessToken });
    await api.user.checkSession.query();
    await api.user.checkSession.query();

    const res = await t.fetch('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/wxlogin_auth_total\{procedure="auth.login",outcome="ok"\} 1/);
    expect(text).toMatch(/wxlogin_auth_total\{procedure="auth.login",outcome="WECHAT_CODE_INVALID"\} 1/);
    expect(text).toMatch(/wxlogin_wechat_request_duration_seconds_count\{endpoint="\/sns\/jscode2session"\} 2/);
    expect(text).toMatch(/wxlogin_wechat_errors_total\{endpoint="\/sns\/jscode2session",errcode="40029"\} 1/);
    expect(text).toMatch(/wxlogin_access_token_lookups_total\{source="fetch"\} 1/);
    expect(text).toMatch(/wxlogin_access_token_lookups_total\{source="memory"\} [1-9]/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
    expect(text).not.toMatch(/o_m_|Bearer|wxr_/);
  });
});
