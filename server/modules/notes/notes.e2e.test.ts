import type { OpenAPIV3 } from 'openapi-types';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { errorReason, type ClientErrorReason } from '../../../client/errors';
import { expectReason } from '../../../test/helpers/expectError';
import { uniqueOpenId, useTestBackend, type TestBackend } from '../../../test/helpers/testBackend';
import { NoteReason } from './reasons';

// The example module end to end: the real server on 127.0.0.1, the run's database, the typed tRPC
// client over real HTTP, and its one REST route. A module of your own starts as a copy of this.

/** A signed-in user (AUTH_REGISTRATION=auto: the first login registers) and their typed client. */
async function signIn(t: TestBackend) {
  const openid = uniqueOpenId('notes');
  const login = await t.client().auth.login.mutate({ code: t.wxLogin(openid) });
  return { token: login.accessToken, api: t.client({ token: login.accessToken }) };
}

/** GET on the REST route, as a uni-app / Taro / wx.request client sends it. */
async function restGet(t: TestBackend, path: string, token?: string) {
  const res = await t.fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, body: (await res.json()) as any };
}

const DAY_MS = 86_400_000;

describe('notes: create, list, delete, only your own', () => {
  // The server's clock runs a day ahead: notes take their time from the context's clock.
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto' }, { now: () => new Date(Date.now() + DAY_MS) });

  it('creates notes and lists them newest first, with the server clock', async () => {
    const { api } = await signIn(t);
    const first = await api.notes.create.mutate({ text: '  buy rice  ' });
    expect(first).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{24}$/), text: 'buy rice' });
    expect(first.createdAt).toBeInstanceOf(Date);
    expect(first.createdAt.getTime()).toBeGreaterThan(Date.now() + DAY_MS / 2);
    const second = await api.notes.create.mutate({ text: 'call mum' });
    expect((await api.notes.list.query()).map((n) => n.text)).toEqual(['call mum', 'buy rice']);
    expect((await api.notes.list.query())[0]).toEqual(second);
  });

  it('pages: limit and offset over tRPC, and over GET /api/notes from the query string', async () => {
    const { api, token } = await signIn(t);
    for (const text of ['a', 'b', 'c']) await api.notes.create.mutate({ text });
    expect((await api.notes.list.query({ limit: 2 })).map((n) => n.text)).toEqual(['c', 'b']);
    expect((await api.notes.list.query({ limit: 2, offset: 2 })).map((n) => n.text)).toEqual(['a']);

    const page = await restGet(t, '/api/notes?limit=2&offset=1', token);
    expect(page.status).toBe(200);
    expect(page.body.map((n: { text: string }) => n.text)).toEqual(['b', 'a']);
    expect(page.body[0].createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    for (const query of ['limit=abc', 'limit=0', 'limit=101', 'offset=-1']) {
      const bad = await restGet(t, `/api/notes?${query}`, token);
      expect(bad.status, query).toBe(400);
      expect(bad.body.error).toMatchObject({ reason: 'INVALID_INPUT', issues: [expect.objectContaining({ path: [query.split('=')[0]] })] });
    }
  });

  it("another user neither sees nor deletes my notes: NOTE_NOT_FOUND, the module's own reason, 404", async () => {
    const me = await signIn(t);
    const other = await signIn(t);
    const note = await me.api.notes.create.mutate({ text: 'mine' });
    expect(await other.api.notes.list.query()).toEqual([]);

    const error = await expectReason(other.api.notes.delete.mutate({ id: note.id }), NoteReason.NOTE_NOT_FOUND, 404);
    expect(error.data.code).toBe('NOT_FOUND');
    expect(error.message).toBe('No such note');
    // The client's one switch sees it too, typed.
    const reason = errorReason(error);
    expect(reason).toBe('NOTE_NOT_FOUND');
    expectTypeOf<'NOTE_NOT_FOUND'>().toExtend<ClientErrorReason>();
    expect(await me.api.notes.list.query()).toEqual([note]);

    expect(await me.api.notes.delete.mutate({ id: note.id })).toEqual({ ok: true });
    expect(await me.api.notes.list.query()).toEqual([]);
    await expectReason(me.api.notes.delete.mutate({ id: note.id }), 'NOTE_NOT_FOUND', 404);
  });

  it('refuses bad input with INVALID_INPUT and the field, and every call without a token', async () => {
    const { api } = await signIn(t);
    for (const text of ['', '   ', 'x'.repeat(1001)]) {
      const error = await expectReason(api.notes.create.mutate({ text }), 'INVALID_INPUT', 400);
      expect(error.data.issues?.[0]?.path).toEqual(['text']);
    }
    await expectReason(api.notes.delete.mutate({ id: 'not-an-id' }), 'INVALID_INPUT', 400);
    expect(await api.notes.list.query()).toEqual([]);

    const anonymous = t.client();
    await expectReason(anonymous.notes.list.query(), 'TOKEN_MISSING', 401);
    await expectReason(anonymous.notes.create.mutate({ text: 'x' }), 'TOKEN_MISSING', 401);
    await expectReason(anonymous.notes.delete.mutate({ id: '0'.repeat(24) }), 'TOKEN_MISSING', 401);
    const rest = await restGet(t, '/api/notes');
    expect(rest.status).toBe(401);
    expect(rest.body.error.reason).toBe('TOKEN_MISSING');
  });

  it('is in /openapi.json by its meta alone: GET /api/notes with integer paging, a token, and the reason listed', async () => {
    const doc = (await restGet(t, '/openapi.json')).body as OpenAPIV3.Document;
    const list = doc.paths['/api/notes']!.get! as OpenAPIV3.OperationObject & { 'x-trpc-procedure': string };
    expect(list['x-trpc-procedure']).toBe('notes.list');
    expect(list.tags).toEqual(['notes']);
    expect(list.security).toEqual([{ bearerAuth: [] }]);
    expect((list.parameters as OpenAPIV3.ParameterObject[]).map((p) => [p.name, p.in, (p.schema as OpenAPIV3.SchemaObject).type])).toEqual([
      ['limit', 'query', 'integer'],
      ['offset', 'query', 'integer'],
    ]);
    expect(Object.keys(list.responses)).toEqual(['200', '400', '401', '403', '408', '431', '500', '503']);
    expect((doc.components!.schemas!.ErrorReason as OpenAPIV3.SchemaObject).enum).toContain('NOTE_NOT_FOUND');
    // The procedures without a meta have no route, and are still in the typed client (above).
    expect(JSON.stringify(doc.paths)).not.toMatch(/notes\.(create|delete)/);
  });
});

describe('notes: writes count in the per-user rate limit (RATE_LIMIT_USER_PER_MIN = 2)', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto', RATE_LIMIT_USER_PER_MIN: '2' });

  it('the third write in a minute is RATE_LIMITED with retryAfterS; reading is not limited', async () => {
    const { api } = await signIn(t);
    await api.notes.create.mutate({ text: 'one' });
    await api.notes.create.mutate({ text: 'two' });
    const limited = await expectReason(api.notes.create.mutate({ text: 'three' }), 'RATE_LIMITED', 429);
    expect(limited.data.retryAfterS).toBeGreaterThan(0);
    expect(await api.notes.list.query()).toHaveLength(2);
  });
});
