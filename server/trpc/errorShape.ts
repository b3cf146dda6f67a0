import { TRPCError, getTRPCErrorShape, transformTRPCResponse, type AnyRouter, type TRPCDefaultErrorShape } from '@trpc/server';
import type { AppErrorData } from '../../shared';
import { AppError } from '../errors';
import { classifyError, type ClassifiedError } from '../errors/classify';

/**
 * tRPC's face of the one error boundary (server/errors/classify.ts): it formats, never decides.
 * The error formatter: tRPC's shape with our message and `data.reason` (+ issues, ticket, retry).
 */
export function formatTrpcError(shape: TRPCDefaultErrorShape, error: TRPCError): TRPCDefaultErrorShape & { data: AppErrorData } {
  const { reason, message, data } = classifyError(error);
  return { ...shape, message, data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, reason, ...data } };
}

/**
 * The failure of a procedure as tRPC must throw it: under the classification's code (whence its
 * HTTP status), with its cause kept, so the formatter classifies it the same way again.
 */
export function asClassifiedTrpcError(failure: TRPCError, classified: ClassifiedError): TRPCError {
  if (failure.code === classified.code) return failure;
  return new TRPCError({ code: classified.code, message: classified.message, cause: failure.cause ?? failure });
}

/**
 * The body tRPC itself would send for a failure found before it ran (a refusal at the edge): one
 * item per path given. The caller sends the list for a batch, the one item for a single call.
 */
export function trpcErrorItems(router: AnyRouter, classified: ClassifiedError, paths: (string | undefined)[]): unknown[] {
  const config = router._def._config;
  return paths.map((path) => {
    const cause = new AppError(classified.reason, classified.message, classified.data);
    const error = new TRPCError({ code: classified.code, message: classified.message, cause });
    const shape = getTRPCErrorShape({ config, error, type: 'unknown', path, input: undefined, ctx: undefined });
    return transformTRPCResponse(config, { error: shape });
  });
}
