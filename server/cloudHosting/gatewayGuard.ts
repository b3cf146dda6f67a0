import type { FastifyInstance, FastifyRequest } from 'fastify';
import { expected, type ClassifiedError } from '../errors/classify';
import { appRouter } from '../root';
import { trpcErrorItems } from '../trpc/errorShape';

/**
 * Paths the platform itself calls, not a mini program: Cloud Hosting's liveness probe and the
 * metrics scrape reach the container without passing the gateway. Neither says anything about a user.
 */
const PLATFORM_PATHS = new Set(['/healthz', '/metrics']);

const NOT_THROUGH_GATEWAY = expected(
  'CLOUD_GATEWAY_REQUIRED',
  'This service runs on WeChat Cloud Hosting: call it with wx.cloud.callContainer, through WeChat\'s gateway',
);

/**
 * With WECHAT_CLOUD_HOSTING=true, every request but the platform's must carry X-WX-SOURCE, the
 * header WeChat's gateway adds: one without it gets CLOUD_GATEWAY_REQUIRED and nothing else,
 * before any route runs. The body has the shape of the route it was meant for: tRPC's error on
 * /trpc, `{ error: { reason, message } }` elsewhere.
 */
export function requireGatewayHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (PLATFORM_PATHS.has(path) || typeof req.headers['x-wx-source'] === 'string') return;
    const { status, reason, message } = NOT_THROUGH_GATEWAY;
    const body = path.startsWith('/trpc/') ? trpcErrorBody(req, NOT_THROUGH_GATEWAY) : { error: { reason, message } };
    return reply.code(status).header('cache-control', 'no-store').send(body);
  });
}

/** The body tRPC itself would send for this error: one item, or one per call of a batch. */
function trpcErrorBody(req: FastifyRequest, classified: ClassifiedError) {
  const url = new URL(req.url, 'http://localhost');
  let paths: string[];
  try {
    paths = decodeURIComponent(url.pathname.slice('/trpc/'.length)).split(',');
  } catch {
    paths = [''];
  }
  const items = trpcErrorItems(appRouter, classified, paths);
  return url.searchParams.get('batch') === '1' ? items : items[0];
}
