import { TRPCClientError } from '@trpc/client';
import { expect } from 'vitest';
import type { AppErrorData, Reason } from '../../shared';
import type { AppRouter } from '../../server/root';

type ClientError = TRPCClientError<AppRouter> & { data: AppErrorData & { httpStatus: number; code: string } };

/** Awaits a call that must fail with this reason; returns the typed error for further checks. */
export async function expectReason(call: Promise<unknown>, reason: Reason, httpStatus?: number): Promise<ClientError> {
  const err = await call.then(
    () => {
      throw new Error(`expected ${reason}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCClientError);
  const error = err as ClientError;
  expect(error.data?.reason, error.message).toBe(reason);
  if (httpStatus !== undefined) expect(error.data.httpStatus).toBe(httpStatus);
  expect(JSON.stringify(error.data)).not.toMatch(/stack|at \w+ \(/);
  return error;
}
