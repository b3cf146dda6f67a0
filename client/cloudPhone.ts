import type { UserOutput } from '../shared/schemas/user';
import type { ErrorReason } from '../shared/reasons';
import type { CloudContainer, WxCloudApi } from './cloudTransport';
import { MiniProgramClientError } from './errors';
import type { LoginFlow } from './loginFlow';
import type { TokenStore } from './tokenStore';

/** Reasons that mean "no valid session": renew it and send once more (as client/sessionLink.ts does for tRPC calls). */
const SESSION_GONE = new Set(['TOKEN_MISSING', 'TOKEN_EXPIRED', 'TOKEN_INVALID', 'SESSION_REVOKED']);

interface Deps {
  wx: WxCloudApi;
  container: CloudContainer;
  store: TokenStore;
  flow: LoginFlow;
  timeoutMs: number;
}

interface Answer {
  statusCode: number;
  data: unknown;
}

/**
 * user.bindPhone with the getPhoneNumber button's cloudID. The gateway replaces a CloudID only in a
 * top-level field of a JSON body, which tRPC's bodies never have (they wrap the input), so this one
 * call goes to the REST route with `{ cloudID: wx.cloud.CloudID(cloudID) }` as its body.
 */
export async function bindPhoneByCloudID(deps: Deps, cloudID: string): Promise<UserOutput> {
  for (let attempt = 0; ; attempt++) {
    const generation = deps.flow.generation;
    const token = deps.store.get()?.accessToken;
    const answer = await send(deps, cloudID, token);
    const body = parse(answer);
    if (answer.statusCode >= 200 && answer.statusCode < 300) return revive(body as UserOutput);
    const error = (body as { error?: { reason?: unknown; message?: unknown } } | null)?.error;
    // Any reason the server names (the table of reasons would cost the bundle 2 KiB to check it).
    const reason = typeof error?.reason === 'string' ? (error.reason as ErrorReason) : undefined;
    if (!reason) throw new MiniProgramClientError('BAD_RESPONSE', `The server answered HTTP ${answer.statusCode} without a reason`, answer.statusCode);
    if (attempt === 0 && SESSION_GONE.has(reason)) {
      await deps.flow.reestablish(generation);
      continue;
    }
    throw new MiniProgramClientError(reason, typeof error?.message === 'string' ? error.message : reason, answer.statusCode);
  }
}

function send(deps: Deps, cloudID: string, token: string | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    deps.wx.cloud.callContainer({
      config: { env: deps.container.env },
      path: '/api/user/bind-phone',
      method: 'POST',
      header: { 'X-WX-SERVICE': deps.container.service, 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      data: { cloudID: deps.wx.cloud.CloudID(cloudID) },
      dataType: 'text',
      responseType: 'text',
      timeout: deps.timeoutMs,
      success: resolve,
      fail: (err) => {
        const msg = err?.errMsg ?? 'cloud.callContainer:fail';
        reject(new MiniProgramClientError(/time ?out/i.test(msg) ? 'TIMEOUT' : 'NETWORK', `The container could not be reached (${msg})`));
      },
    });
  });
}

function parse(answer: Answer): unknown {
  if (typeof answer.data !== 'string') return answer.data;
  try {
    return JSON.parse(answer.data) as unknown;
  } catch {
    throw new MiniProgramClientError('BAD_RESPONSE', `The server answered HTTP ${answer.statusCode} with something that is not JSON`, answer.statusCode);
  }
}

/** REST answers carry dates as ISO strings; the typed API hands out Dates. */
function revive(user: UserOutput): UserOutput {
  const date = (v: unknown) => (typeof v === 'string' ? new Date(v) : (v as Date | null));
  return { ...user, createdAt: date(user.createdAt)!, updatedAt: date(user.updatedAt)!, lastLoginAt: date(user.lastLoginAt) };
}
