import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * CORS_ORIGINS: H5 pages on the listed origins may call the REST routes under /api from a
 * browser. Everything else (tRPC, the legacy routes, avatars, health) stays without CORS: a mini
 * program's wx.request does not need it, and a page on another origin should not get it.
 */
export function registerApiCors(app: FastifyInstance, origins: string[]) {
  const forApi = {
    origin: origins,
    methods: ['GET', 'POST'],
    allowedHeaders: ['content-type', 'authorization', 'x-wx-appid', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after'],
    maxAge: 600,
  };
  app.register(cors, {
    delegator: (req, done) => done(null, req.url.startsWith('/api/') ? forApi : { origin: false }),
  });
}
