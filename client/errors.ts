import { TRPCClientError } from '@trpc/client';
import type { AppErrorData } from '../shared/errors';
import type { Reason } from '../shared/reasons';

/** Failures that never reached the server's procedures, named like the server's reasons. */
export type TransportReason =
  | 'NETWORK' // no connection, DNS, refused, the URL is not in the mini program's allowed domains
  | 'TIMEOUT'
  | 'BAD_RESPONSE' // an answer that is not tRPC's JSON (a proxy's HTML page, a wrong URL ...)
  | 'WX_LOGIN_FAILED' // wx.login itself failed
  | 'REGISTRATION_DECLINED'; // the app's onRegister callback returned nothing

/** The server's reasons (the core's and the modules') and the client's own. */
export type ClientErrorReason = Reason | TransportReason | 'UNKNOWN';

/** Thrown by the transport and the session flow; reaches the app as the cause of a TRPCClientError or as is. */
export class MiniProgramClientError extends Error {
  override name = 'MiniProgramClientError';
  constructor(
    /** A server reason too, for answers that do not come through tRPC (the cloudID phone binding). */
    readonly reason: TransportReason | Reason,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The one thing an app switches on, whatever failed: the server's reason or a transport reason. */
export function errorReason(err: unknown): ClientErrorReason {
  if (err instanceof MiniProgramClientError) return err.reason;
  if (err instanceof TRPCClientError) {
    const data = err.data as Partial<AppErrorData> | undefined;
    if (data?.reason) return data.reason;
    if (err.cause instanceof MiniProgramClientError) return err.cause.reason;
    // tRPC could not read the body as its own JSON: not an answer from our procedures.
    return 'BAD_RESPONSE';
  }
  return 'UNKNOWN';
}

/** The server's error data (reason, registrationTicket ...) when the server sent one. */
export function errorData(err: unknown): Partial<AppErrorData> | undefined {
  return err instanceof TRPCClientError ? (err.data as Partial<AppErrorData> | undefined) : undefined;
}
