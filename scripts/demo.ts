/**
 * Walks a simulated mini program through register → login → me against a running server
 * (`npm start` in another terminal), printing each step. Reads where the server and its built-in
 * WeChat simulator are from DATA_DIR/runtime.json (default .data/), or from DEMO_URL and DEMO_SIMULATOR_URL.
 */
import { randomBytes } from 'node:crypto';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import type { AppErrorData } from '../shared';
import type { AppRouter } from '../server/root';
import { readRuntimeFile } from '../server/runtimeFile';

function endpoints(): { url: string; simulatorUrl: string } {
  const runtime = readRuntimeFile(process.env.DATA_DIR || '.data') ?? { url: undefined, simulatorUrl: undefined };
  const url = process.env.DEMO_URL ?? runtime.url;
  const simulatorUrl = process.env.DEMO_SIMULATOR_URL ?? runtime.simulatorUrl ?? undefined;
  if (!url) throw new Error('No running server found: start one with `npm start` (or set DEMO_URL)');
  if (!simulatorUrl) throw new Error('The server is not using the built-in WeChat simulator; the demo needs it (unset WECHAT_APP_ID)');
  return { url, simulatorUrl };
}

/** What wx.login and wx.getUserInfo do on a phone, played by the simulator. */
async function phone<T>(simulatorUrl: string, action: 'login' | 'userInfo', body: object): Promise<T> {
  const res = await fetch(`${simulatorUrl}/__app/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`simulator answered ${res.status} to ${action}`);
  return (await res.json()) as T;
}

const step = (n: number, text: string) => console.log(`\n${n}. ${text}`);
const show = (label: string, value: unknown) => console.log(`   ${label}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);

async function main() {
  const { url, simulatorUrl } = endpoints();
  const api = (token?: string) =>
    createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${url}/trpc`, transformer: superjson, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) })],
    });
  const openid = `demo_${randomBytes(4).toString('hex')}`;
  console.log(`Demo against ${url} (WeChat simulator at ${simulatorUrl}), as a new WeChat user ${openid}`);

  step(1, 'wx.login() on the phone gives a one-time code');
  const { code } = await phone<{ code: string }>(simulatorUrl, 'login', { openid });
  show('code', `${code.slice(0, 6)}… (single-use, 5 minutes)`);

  step(2, 'auth.login({ code }): the server trades it for the openid; this user is new');
  let accessToken: string;
  try {
    const login = await api().auth.login.mutate({ code });
    show('registration mode is auto, so the user was created', { isNewUser: login.isNewUser, userId: login.user.id });
    accessToken = login.accessToken;
  } catch (err) {
    const data = err instanceof TRPCClientError ? (err.data as AppErrorData | undefined) : undefined;
    if (data?.reason !== 'USER_NOT_REGISTERED' || !data.registrationTicket) throw err;
    show('error reason', data.reason);
    show('registration ticket', 'received (single-use, no second wx.login needed)');

    step(3, 'auth.register({ registrationTicket, profile }) with the nickname/avatar fill-in fields');
    const reg = await api().auth.register.mutate({
      registrationTicket: data.registrationTicket,
      profile: { nickName: 'Demo User', avatarUrl: 'https://example.com/avatar.png' },
    });
    show('registered', { userId: reg.userId, createdAt: reg.createdAt.toISOString(), expiresIn: reg.expiresIn });
    accessToken = reg.accessToken;
  }

  step(4, 'Later: wx.login() again and auth.login({ code }) as a returning user');
  const again = await phone<{ code: string }>(simulatorUrl, 'login', { openid });
  const login = await api().auth.login.mutate({ code: again.code });
  show('logged in', { isNewUser: login.isNewUser, userId: login.user.id, tokenType: login.tokenType, expiresIn: login.expiresIn });
  accessToken = login.accessToken;

  step(5, 'auth.me() with Authorization: Bearer <accessToken>');
  const me = await api(accessToken).auth.me.query();
  show('me', { id: me.id, nickName: me.nickName, status: me.status, lastLoginAt: me.lastLoginAt?.toISOString() });

  console.log('\nDone: register → login → me all worked.');
}

main().catch((err: unknown) => {
  const reason = err instanceof TRPCClientError ? ` (${(err.data as AppErrorData | undefined)?.reason})` : '';
  console.error(`\nDemo failed: ${err instanceof Error ? err.message : String(err)}${reason}`);
  process.exit(1);
});
