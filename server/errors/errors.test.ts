import mongoose from 'mongoose';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '.';

const { MongoServerError, MongoNetworkError, MongoServerSelectionError } = mongoose.mongo;
const serverError = (code: number, codeName: string, errmsg: string) => new MongoServerError({ ok: 0, code, codeName, errmsg });

describe('isDatabaseUnavailable', () => {
  it('is true for the driver errors of an unreachable database, also as a cause', () => {
    expect(isDatabaseUnavailable(new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017'))).toBe(true);
    expect(isDatabaseUnavailable(new MongoServerSelectionError('connect ECONNREFUSED 127.0.0.1:27017', { type: 'Unknown' } as never))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: new MongoNetworkError('connection 3 closed') }))).toBe(true);
  });

  it('is true for a server that is shutting down or stepping down', () => {
    expect(isDatabaseUnavailable(serverError(11600, 'InterruptedAtShutdown', 'interrupted at shutdown'))).toBe(true);
    expect(isDatabaseUnavailable(serverError(91, 'ShutdownInProgress', 'The server is in quiesce mode and will shut down'))).toBe(true);
    expect(isDatabaseUnavailable(serverError(10107, 'NotWritablePrimary', 'not primary'))).toBe(true);
  });

  it('is true for the embedded database cancelling queries as it stops (FerretDB InternalError "context canceled")', () => {
    // As seen when the embedded database stops under load (npm run soak -- outage).
    const errmsg =
      '[msg_find.go:344 handler.handleMaxTimeMSError] [values.go:74 iterator.ConsumeValuesN[...]] ' +
      '[query_iterator.go:79 sqlite.(*queryIterator).Next] context canceled after delay';
    expect(isDatabaseUnavailable(serverError(1, 'InternalError', errmsg))).toBe(true);
  });

  it('is false for errors about the request or the data', () => {
    expect(isDatabaseUnavailable(serverError(11000, 'DuplicateKey', 'E11000 duplicate key error'))).toBe(false);
    expect(isDatabaseUnavailable(serverError(2, 'BadValue', 'unknown operator: $foo'))).toBe(false);
    expect(isDatabaseUnavailable(serverError(1, 'InternalError', 'something else went wrong'))).toBe(false);
    expect(isDatabaseUnavailable(serverError(262, 'ExceededTimeLimit', 'operation exceeded time limit'))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isDatabaseUnavailable('not an error')).toBe(false);
  });
});
