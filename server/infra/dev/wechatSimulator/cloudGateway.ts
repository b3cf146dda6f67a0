// A stand-in for WeChat Cloud Hosting's gateway, written from its docs ("容器内变量信息",
// "开放数据"), for development and tests: what stands between wx.cloud.callContainer on a phone
// and the container. For a phone's request it strips every X-WX-* header the app sent, adds the
// gateway's own (X-WX-SOURCE, X-WX-ENV, the caller's X-WX-OPENID / APPID / UNIONID or, under
// resource sharing, the X-WX-FROM-* forms, X-Original-Forwarded-For), replaces top-level CloudID
// fields of a JSON body with their open data, and forwards. A request that is no phone's (the
// service's public domain, if it had one) is forwarded with the X-WX-* headers stripped and none
// added. Not WeChat: the phone ↔ gateway hop is private to WeChat, so phones here name themselves
// with an `x-sim-phone` header the gateway removes.
import { closeNow, listenLocally } from './localServer';
import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { phoneInfoOf } from './appSide';

export interface CloudGatewayOptions {
  /** The container's base URL. */
  upstream: string;
  /** The cloud environment id (X-WX-ENV) and the service name a call must put in X-WX-SERVICE. */
  env: string;
  service: string;
  now?: () => number;
}

export interface CloudPhoneUser {
  appId: string;
  openId: string;
  /** Present when WeChat would give one (the apps share an Open Platform account). */
  unionId?: string;
  /** Resource sharing: the app calls another account's environment; the gateway uses the X-WX-FROM-* headers. */
  resourceSharing?: boolean;
  /** The phone's address as X-Original-Forwarded-For (default 203.0.113.7). */
  ip?: string;
}

export interface CallContainerRequest {
  path: string;
  method?: string;
  header?: Record<string, string>;
  /** A string is sent as it is; an object as JSON (CloudID values of top-level fields marked for the gateway). */
  data?: unknown;
}

export interface CallContainerAnswer {
  statusCode: number;
  header: Record<string, string>;
  /** The body as text. */
  text: string;
}

/** A mini program user's phone behind the gateway. */
export interface CloudPhone {
  user: CloudPhoneUser;
  /** What wx.cloud.callContainer does for this user, over real HTTP through the gateway. Rejects with { errMsg } where WeChat would. */
  callContainer(req: CallContainerRequest): Promise<CallContainerAnswer>;
  /** What the getPhoneNumber button hands a cloud-enabled app: the cloudID of this number (valid 5 minutes). */
  phoneCloudID(phone: { purePhoneNumber: string; countryCode: string }): string;
}

export interface CloudGateway {
  url: string;
  start(): Promise<string>;
  stop(): Promise<void>;
  phone(user: CloudPhoneUser): CloudPhone;
}

/**
 * How a CloudID travels from the phone to this stand-in in a JSON body: what `wx.cloud.CloudID(id)`
 * serializes to here. The real wire format is WeChat's own.
 */
export const CLOUD_ID_MARK = '$simCloudID';

/** A stand-in for `wx.cloud.CloudID(id)`: serializes to the mark the gateway stand-in replaces. */
export function cloudIdStandIn(cloudID: string): { toJSON(): Record<string, string> } {
  return { toJSON: () => ({ [CLOUD_ID_MARK]: cloudID }) };
}

const PHONE_HEADER = 'x-sim-phone';
const CLOUD_ID_TTL_MS = 5 * 60_000;

interface OpenData {
  appId: string;
  data: Record<string, unknown>;
  issuedAtMs: number;
}

/** Gateway-made failures carry this header, so a phone can reject like wx.cloud.callContainer does. */
const GATEWAY_ERROR_HEADER = 'x-sim-gateway-error';

export function createCloudGateway(opts: CloudGatewayOptions): CloudGateway {
  const now = opts.now ?? Date.now;
  const phones = new Map<string, CloudPhoneUser>();
  const openData = new Map<string, OpenData>();
  const upstream = new URL(opts.upstream);
  let url = '';

  function gatewayHeaders(incoming: IncomingHttpHeaders, user: CloudPhoneUser | undefined): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(incoming)) {
      // Whatever the app claimed about itself goes; so does anything only this hop understands.
      if (name.startsWith('x-wx-') || name === 'x-original-forwarded-for' || name === PHONE_HEADER || name === 'host') continue;
      if (name === 'content-length' || name === 'connection') continue;
      if (typeof value === 'string') headers[name] = value;
    }
    if (!user) return headers;
    const prefix = user.resourceSharing ? 'x-wx-from-' : 'x-wx-';
    headers['x-wx-source'] = 'wx_client';
    headers['x-wx-env'] = opts.env;
    headers[`${prefix}appid`] = user.appId;
    headers[`${prefix}openid`] = user.openId;
    if (user.unionId) headers[`${prefix}unionid`] = user.unionId;
    headers['x-original-forwarded-for'] = user.ip ?? '203.0.113.7';
    return headers;
  }

  /** Top-level CloudID fields of a JSON object body become { cloudID, data }; deeper ones and unknown ids stay strings. */
  function replaceCloudIds(body: Buffer, user: CloudPhoneUser): Buffer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return body;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return body;
    const fields = parsed as Record<string, unknown>;
    let changed = false;
    for (const [key, value] of Object.entries(fields)) {
      const id = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[CLOUD_ID_MARK] : undefined;
      if (typeof id !== 'string') continue;
      const known = openData.get(id);
      const live = known && known.appId === user.appId && now() - known.issuedAtMs <= CLOUD_ID_TTL_MS;
      fields[key] = live ? { cloudID: id, data: known.data } : id;
      changed = true;
    }
    return changed ? Buffer.from(JSON.stringify(fields)) : body;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const phoneId = req.headers[PHONE_HEADER];
    const user = typeof phoneId === 'string' ? phones.get(phoneId) : undefined;
    if (user && req.headers['x-wx-service'] !== opts.service) {
      req.resume();
      res.writeHead(404, { [GATEWAY_ERROR_HEADER]: '1', 'content-type': 'text/plain' });
      res.end(`service ${String(req.headers['x-wx-service'])} not found in env ${opts.env}`);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: Buffer = Buffer.concat(chunks);
    if (user && body.length > 0 && String(req.headers['content-type'] ?? 'application/json').includes('json')) body = replaceCloudIds(body, user);
    const headers = gatewayHeaders(req.headers, user);
    if (body.length > 0) headers['content-length'] = String(body.length);

    await new Promise<void>((resolve) => {
      const out = request(
        { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', resolve);
        },
      );
      out.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { [GATEWAY_ERROR_HEADER]: '1', 'content-type': 'text/plain' });
        res.end('the container did not answer');
        resolve();
      });
      out.end(body);
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502, { [GATEWAY_ERROR_HEADER]: '1' });
      res.end();
    });
  });

  return {
    get url() {
      return url;
    },
    async start() {
      url = await listenLocally(server);
      return url;
    },
    stop: () => closeNow(server),
    phone(user) {
      const id = randomBytes(12).toString('hex');
      phones.set(id, user);
      return {
        user,
        async callContainer(call) {
          const body = call.data === undefined ? undefined : typeof call.data === 'string' ? call.data : JSON.stringify(call.data);
          let answer: Response;
          try {
            answer = await fetch(`${url}${call.path}`, {
              method: call.method ?? 'GET',
              headers: { 'content-type': 'application/json', ...call.header, [PHONE_HEADER]: id },
              body,
            });
          } catch (err) {
            throw { errMsg: `cloud.callContainer:fail ${err instanceof Error ? err.message : String(err)}` };
          }
          const text = await answer.text();
          if (answer.headers.has(GATEWAY_ERROR_HEADER)) throw { errMsg: `cloud.callContainer:fail ${text}` };
          const header: Record<string, string> = {};
          answer.headers.forEach((value, name) => (header[name] = value));
          return { statusCode: answer.status, header, text };
        },
        phoneCloudID(phone) {
          const cloudID = `sim_${randomBytes(18).toString('base64url')}`;
          openData.set(cloudID, {
            appId: user.appId,
            issuedAtMs: now(),
            data: { ...phoneInfoOf(phone), watermark: { appid: user.appId, timestamp: Math.floor(now() / 1000) } },
          });
          return cloudID;
        },
      };
    },
  };
}
