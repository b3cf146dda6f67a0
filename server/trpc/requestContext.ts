import type { FastifyRequest } from 'fastify';
import type { AppServices } from '../appServices';
import { gatewayRequestOf } from '../cloudHosting/gatewayHeaders';
import type { Logger } from '../logger';
import { appIdOfRequest } from '../services/wechatApps';
import { createContext } from './context';

/** The procedure context of an HTTP request: the same for /trpc, /api and the legacy routes. */
export function contextFromRequest(services: AppServices, req: FastifyRequest) {
  // On Cloud Hosting the gateway says who calls, from which app and IP; elsewhere its headers mean nothing.
  const gateway = services.config.wechat.cloudHosting ? gatewayRequestOf(req.headers) : undefined;
  return createContext({
    services,
    authorization: req.headers.authorization,
    gatewayCaller: gateway?.caller,
    appId: gateway ? gateway.caller?.appId : appIdOfRequest(req.headers as { 'x-wx-appid'?: string; referer?: string }),
    clientIp: gateway?.clientIp ?? req.ip,
    userAgent: req.headers['user-agent'],
    log: req.log as Logger,
  });
}
