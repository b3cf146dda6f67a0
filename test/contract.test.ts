import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { NoteOutput } from '../server/modules/notes/schemas';
import type { ProcedureDef } from '../server/rest/restProcedures';
import { appRouter, createCaller, createContext, type AppRouter } from '../server/root';
import type { AppErrorData, ErrorReason, LoginOutput, MeOutput, Reason } from '../shared';
import { ERROR_REASONS } from '../shared';
import { startTestBackend, uniqueOpenId, type TestBackend } from './helpers/testBackend';

type In = inferRouterInputs<AppRouter>;
type Out = inferRouterOutputs<AppRouter>;

// Compile-time contract: `npm test` runs tsc over this file first, so a change in a procedure's
// schema that breaks these lines fails the build.
describe('the client types are inferred from AppRouter', () => {
  it('inputs', () => {
    // code is optional in the type: on WeChat Cloud Hosting the gateway names the user. Elsewhere
    // the server answers a login without one INVALID_INPUT (test/cloudHosting.e2e.test.ts).
    expectTypeOf<In['auth']['login']>().toEqualTypeOf<{
      code?: string | undefined;
      encryptedData?: string | undefined;
      iv?: string | undefined;
      rawData?: string | undefined;
      signature?: string | undefined;
    }>();
    expectTypeOf<In['auth']['register']>().toHaveProperty('registrationTicket').toEqualTypeOf<string | undefined>();
    expectTypeOf<In['auth']['register']>().toHaveProperty('profile').toEqualTypeOf<{ nickName: string; avatarUrl?: string | undefined } | undefined>();
  });

  it('outputs, with Dates kept by superjson', () => {
    expectTypeOf<Out['auth']['login']>().toEqualTypeOf<LoginOutput>();
    expectTypeOf<Out['auth']['login']['tokenType']>().toEqualTypeOf<'Bearer'>();
    expectTypeOf<Out['auth']['me']>().toEqualTypeOf<MeOutput>();
    expectTypeOf<Out['auth']['me']['consentRequired']>().toEqualTypeOf<string[]>();
    expectTypeOf<Out['auth']['me']['createdAt']>().toEqualTypeOf<Date>();
    expectTypeOf<Out['auth']['register']['userId']>().toBeString();
  });

  it('the proxy client', () => {
    type Api = TRPCClient<AppRouter>;
    expectTypeOf<Api['auth']['me']['query']>().returns.resolves.toEqualTypeOf<MeOutput>();
    expectTypeOf<Api['auth']['login']['mutate']>().parameter(0).toEqualTypeOf<In['auth']['login']>();
    const api = createTRPCClient<AppRouter>({ links: [httpLink({ url: 'http://127.0.0.1:1/trpc', transformer: superjson })] });
    // @ts-expect-error: login is a mutation, not a query
    void (() => api.auth.login.query);
    // @ts-expect-error: code is a string
    void (() => api.auth.login.mutate({ code: 1 }));
    // @ts-expect-error: no such procedure
    void (() => api.auth.logon);
  });

  it('every reason maps to a tRPC code', () => {
    expectTypeOf<ErrorReason>().toEqualTypeOf<keyof typeof ERROR_REASONS>();
    expect(Object.keys(ERROR_REASONS).length).toBeGreaterThan(20);
  });

  it("a module's procedures and reasons, from the router alone (the example module, notes)", () => {
    expectTypeOf<In['notes']['create']>().toEqualTypeOf<{ text: string }>();
    expectTypeOf<{ limit: number; offset: number }>().toExtend<In['notes']['list']>();
    expectTypeOf<undefined>().toExtend<In['notes']['list']>();
    expectTypeOf<Out['notes']['list']>().toEqualTypeOf<NoteOutput[]>();
    expectTypeOf<Out['notes']['create']['createdAt']>().toEqualTypeOf<Date>();
    // Its reasons join the core's in the error data, not the core's closed set.
    expectTypeOf<'NOTE_NOT_FOUND'>().toExtend<Reason>();
    expectTypeOf<'NOTE_NOT_FOUND'>().not.toExtend<ErrorReason>();
    expectTypeOf<AppErrorData['reason']>().toEqualTypeOf<Reason>();
    const api = createTRPCClient<AppRouter>({ links: [httpLink({ url: 'http://127.0.0.1:1/trpc', transformer: superjson })] });
    // @ts-expect-error: text is required
    void (() => api.notes.create.mutate({}));
  });
});

/** Every procedure of the router, by dotted path: a module's are here as soon as it is mounted. */
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: ProcedureDef }>);

describe('every procedure of the router', () => {
  it('includes the mounted modules', () => {
    expect(procedures.map(([path]) => path)).toEqual(expect.arrayContaining(['auth.login', 'notes.create', 'notes.list', 'notes.delete']));
  });

  // The client's types and what goes out are one schema: a procedure returning a document as it
  // is (a userId, a hash ...) would send whatever the document holds.
  it.each(procedures)('%s declares its output schema (.output(), or `output` in its REST meta)', (_path, { _def }) => {
    expect(_def.output ?? _def.meta?.openapi?.output).toBeDefined();
  });
});

describe('createCaller: procedures called in process, as scripts do', () => {
  let t: TestBackend;
  beforeAll(async () => {
    t = await startTestBackend({ AUTH_REGISTRATION: 'auto' });
  });
  afterAll(() => t.stop());

  it('logs in and reads me without HTTP', async () => {
    const services = t.backend.services;
    const caller = createCaller(createContext({ services }));
    const openid = uniqueOpenId('caller');
    const login = await caller.auth.login({ code: t.wxLogin(openid) });
    expect(login.isNewUser).toBe(true);
    const me = await createCaller(createContext({ services, authorization: `Bearer ${login.accessToken}` })).auth.me();
    expect(me).toMatchObject({ id: login.user.id, openId: openid });
  });

  it('expected failures arrive with the same reason', async () => {
    const caller = createCaller(createContext({ services: t.backend.services }));
    await expect(caller.auth.me()).rejects.toMatchObject({ code: 'UNAUTHORIZED', cause: { reason: 'TOKEN_MISSING' } });
  });
});
