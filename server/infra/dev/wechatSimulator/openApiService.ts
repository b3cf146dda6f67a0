// A stand-in for WeChat Cloud Hosting's open API service ("开放接口服务"): the side-loaded proxy
// through which a container calls WeChat's server APIs over plain HTTP without an access_token.
// It adds the credentials of the environment's own app (or, under resource sharing, of the app
// named by `from_appid`), forwards to the simulator and answers with an `x-openapi-seqid` header.
import { closeNow, listenLocally } from './localServer';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { WeChatSimulator } from './server';

export interface OpenApiServiceStandIn {
  /** Where the container sends its calls (in production: http://api.weixin.qq.com). */
  url: string;
  start(): Promise<string>;
  stop(): Promise<void>;
  /** Every call so far: the API path and the app it was made for. */
  calls(): { path: string; appId: string }[];
}

function reply(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function createOpenApiServiceStandIn(opts: { simulator: WeChatSimulator; ownAppId: string; host?: string }): OpenApiServiceStandIn {
  const calls: { path: string; appId: string }[] = [];
  let url = '';

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = new URL(req.url ?? '/', 'http://open-api-service');
    const body = await readAll(req);
    // The point of the service is that the container holds no token: a call that brings one is a bug there.
    if (target.searchParams.has('access_token')) {
      return reply(res, 200, { errcode: 40097, errmsg: 'open API service stand-in: send no access_token, the service adds it' });
    }
    const appId = target.searchParams.get('from_appid') ?? opts.ownAppId;
    let token: string;
    try {
      token = opts.simulator.grantServiceToken(appId);
    } catch {
      return reply(res, 200, { errcode: 40013, errmsg: 'invalid appid' });
    }
    target.searchParams.delete('from_appid');
    target.searchParams.set('access_token', token);
    calls.push({ path: target.pathname, appId });
    const answer = await fetch(`${opts.simulator.url}${target.pathname}?${target.searchParams}`, {
      method: req.method,
      headers: body.length ? { 'content-type': 'application/json' } : {},
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
    const text = await answer.text();
    res.writeHead(answer.status, {
      'content-type': answer.headers.get('content-type') ?? 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-openapi-seqid': randomBytes(8).toString('hex'),
    });
    res.end(text);
  }

  const server = createServer((req, res) => {
    forward(req, res).catch(() => {
      if (!res.headersSent) reply(res, 502, { errcode: -1, errmsg: 'open API service stand-in: the simulator did not answer' });
    });
  });

  return {
    get url() {
      return url;
    },
    async start() {
      url = await listenLocally(server, opts.host);
      return url;
    },
    stop: () => closeNow(server),
    calls: () => [...calls],
  };
}
