import type { FastifyRequest } from 'fastify';
import type { AppServices } from '../appServices';
import type { Logger } from '../logger';
import { appIdOfRequest } from '../services/wechatApps';
import { createContext } from './context';

/** The procedure context of an HTTP request: the same for /trpc, /api and the legacy routes. */
export function contextFromRequest(services: AppServices, req: FastifyRequest) {
  return createContext({
    services,
    authorization: req.headers.authorization,
    appId: appIdOfRequest(req.headers as { 'x-wx-appid'?: string; referer?: string }),
    clientIp: req.ip,
    userAgent: req.headers['user-agent'],
    log: req.log as Logger,
  });
}
