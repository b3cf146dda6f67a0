import { TRPCError } from '@trpc/server';
import mongoose from 'mongoose';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineReasons, type Reason } from '../../shared';
import { AppError } from '.';
import { classifyError, INTERNAL_MESSAGE, UNAVAILABLE_MESSAGE } from './classify';

const { MongoNetworkError } = mongoose.mongo;

/** A Fastify-style refusal: an Error with a string code and a 4xx statusCode. */
function frameworkError(code: string, statusCode: number, message = 'library text'): Error {
  return Object.assign(new Error(message), { code, statusCode });
}

describe('classifyError', () => {
  it('an AppError, thrown or as a TRPCError cause, keeps its reason, message and data under its reason code', () => {
    const limited = new AppError('RATE_LIMITED', 'Too many requests', { retryAfterS: 7 });
    const wrapped = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: limited });
    for (const err of [limited, wrapped]) {
      expect(classifyError(err)).toEqual({
        reason: 'RATE_LIMITED',
        code: 'TOO_MANY_REQUESTS',
        status: 429,
        message: 'Too many requests',
        data: { retryAfterS: 7 },
        unexpected: false,
      });
    }
  });

  it("a module's reason (defineReasons) travels under its own code; a reason nobody defined is INTERNAL", () => {
    defineReasons({ CLASSIFY_TEST_TAKEN: 'CONFLICT' });
    const taken = new AppError('CLASSIFY_TEST_TAKEN' as Reason, 'Already taken');
    expect(classifyError(new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: taken }))).toMatchObject({
      reason: 'CLASSIFY_TEST_TAKEN',
      code: 'CONFLICT',
      status: 409,
      message: 'Already taken',
    });
    const unknown = new AppError('NEVER_DEFINED' as Reason, 'secret detail');
    expect(classifyError(unknown)).toMatchObject({ reason: 'INTERNAL', status: 500, message: INTERNAL_MESSAGE, unexpected: true });
  });

  it('an unreachable database is SERVICE_UNAVAILABLE with a fixed message, wrapped or not', () => {
    const down = new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017');
    for (const err of [down, new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: down })]) {
      const c = classifyError(err);
      expect([c.reason, c.code, c.status, c.message]).toEqual(['SERVICE_UNAVAILABLE', 'SERVICE_UNAVAILABLE', 503, UNAVAILABLE_MESSAGE]);
    }
  });

  it("an input that failed its schema is INVALID_INPUT with zod's issues and one readable line", () => {
    const parsed = z.object({ code: z.string().min(2) }).safeParse({ code: 'x' });
    const c = classifyError(new TRPCError({ code: 'BAD_REQUEST', cause: parsed.error }));
    expect(c.reason).toBe('INVALID_INPUT');
    expect(c.status).toBe(400);
    expect(c.data.issues?.[0]?.path).toEqual(['code']);
    expect(c.message).toMatch(/^Invalid input: code: /);
  });

  it("tRPC's own refusals keep their code, get a reason and a fixed message instead of the library's", () => {
    const c = classifyError(new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: 'Unsupported GET-request to mutation procedure at path "auth.login"' }));
    expect([c.reason, c.code, c.status]).toEqual(['INVALID_INPUT', 'METHOD_NOT_SUPPORTED', 405]);
    expect(c.message).not.toContain('auth.login');
  });

  it('anything else is INTERNAL, unexpected, with a message that tells nothing', () => {
    for (const err of [new TypeError('secret detail'), new TRPCError({ code: 'FORBIDDEN', message: 'secret detail' }), 'a string']) {
      expect(classifyError(err)).toMatchObject({ reason: 'INTERNAL', status: 500, message: INTERNAL_MESSAGE, unexpected: true });
    }
  });

  it("a framework's refusal is recognised only where a site is named, with that site's message", () => {
    const tooLarge = frameworkError('FST_ERR_CTP_BODY_TOO_LARGE', 413);
    expect(classifyError(tooLarge).reason).toBe('INTERNAL');
    expect(classifyError(tooLarge, { kind: 'body', bodyLimitBytes: 100 })).toMatchObject({ reason: 'PAYLOAD_TOO_LARGE', status: 413, message: 'The request body is larger than 100 bytes' });
    expect(classifyError(tooLarge, { kind: 'upload', maxBytes: 50 })).toMatchObject({ reason: 'PAYLOAD_TOO_LARGE', status: 413, message: 'The image is larger than 50 bytes' });
    const wrongType = frameworkError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415);
    expect(classifyError(wrongType, { kind: 'body', bodyLimitBytes: 100 })).toMatchObject({ reason: 'UNSUPPORTED_MEDIA_TYPE', status: 415 });
    expect(classifyError(wrongType, { kind: 'upload', maxBytes: 50 })).toMatchObject({ reason: 'INVALID_INPUT', status: 400 });
    expect(classifyError(frameworkError('FST_ERR_MAX_PARAM_LENGTH', 414), { kind: 'url' })).toMatchObject({ reason: 'INVALID_INPUT', status: 414 });
    expect(classifyError(frameworkError('ERR_HTTP_REQUEST_TIMEOUT', 408), { kind: 'socket', requestTimeoutMs: 30 })).toMatchObject({
      reason: 'REQUEST_TIMEOUT',
      status: 408,
      message: 'The request did not arrive within 30 ms',
    });
  });
});
