import { describe, expect, it } from 'vitest';
import { uniqueOpenId, useTestBackend } from './helpers/testBackend';

// A valid 1x1 PNG and a tiny JPEG, byte for byte.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);
const MAX_BYTES = 1_048_576;

interface UploadAnswer {
  avatarUrl: string;
  user: { id: string; avatarUrl: string | null };
}
interface ErrorAnswer {
  error: { reason: string; message: string };
}

describe('avatar upload (wx.uploadFile) and serving', () => {
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto' });

  const files = () => t.backend.services.db.connection.db!.collection('avatars.files');
  const countFiles = (userId?: string) => files().countDocuments(userId ? { 'metadata.userId': userId } : {});

  async function signUp() {
    const login = await t.client().auth.login.mutate({ code: t.wxLogin(uniqueOpenId('avatar')) });
    return { token: login.accessToken, userId: login.user.id };
  }

  /** What wx.uploadFile sends: multipart/form-data, the file in field `name`, Bearer token. */
  function upload(token: string | undefined, bytes: Uint8Array, filename: string, type: string, name = 'file') {
    const form = new FormData();
    form.append(name, new Blob([bytes], { type }), filename);
    return t.fetch('/avatar', { method: 'POST', body: form, headers: token ? { authorization: `Bearer ${token}` } : {} });
  }

  async function expectError(res: Response, status: number, reason: string) {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    expect(text).not.toMatch(/stack|\bat .*\.(ts|js):\d+/);
    const body = JSON.parse(text) as ErrorAnswer;
    expect(body.error.reason).toBe(reason);
    expect(typeof body.error.message).toBe('string');
    return body;
  }

  it('a PNG with a misleading name and type is stored, shown by auth.me and served byte for byte', async () => {
    const { token, userId } = await signUp();
    const res = await upload(token, PNG, 'photo.txt', 'text/plain');
    expect(res.status).toBe(200);
    const body = JSON.parse(await res.text()) as UploadAnswer; // wx.uploadFile hands the body over as a string
    expect(body.avatarUrl).toMatch(new RegExp(`^${t.url}/avatars/[0-9a-f]{24}$`));
    expect(body.user.id).toBe(userId);
    expect(body.user.avatarUrl).toBe(body.avatarUrl);

    const me = await t.client({ token }).auth.me.query();
    expect(me.avatarUrl).toBe(body.avatarUrl);

    const image = await fetch(body.avatarUrl);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(image.headers.get('content-length')).toBe(String(PNG.length));
    expect(image.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(image.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await image.arrayBuffer()).equals(PNG)).toBe(true);

    const stored = await files().findOne({ 'metadata.userId': userId });
    expect(stored?.metadata).toEqual({ userId, contentType: 'image/png' });
  });

  it('a JPEG works too, in a field of any name', async () => {
    const { token } = await signUp();
    const res = await upload(token, JPEG, 'a.jpg', 'image/jpeg', 'avatar');
    expect(res.status).toBe(200);
    const { avatarUrl } = (await res.json()) as UploadAnswer;
    const image = await fetch(avatarUrl);
    expect(image.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await image.arrayBuffer()).equals(JPEG)).toBe(true);
  });

  it('text named a.png and typed image/png → 415 UNSUPPORTED_IMAGE, nothing stored', async () => {
    const { token, userId } = await signUp();
    await expectError(await upload(token, Buffer.from('hello, not an image'), 'a.png', 'image/png'), 415, 'UNSUPPORTED_IMAGE');
    await expectError(await upload(token, new Uint8Array(0), 'empty.png', 'image/png'), 415, 'UNSUPPORTED_IMAGE');
    expect(await countFiles(userId)).toBe(0);
    expect((await t.client({ token }).auth.me.query()).avatarUrl).toBeNull();
  });

  it('a file over the limit → 413 PAYLOAD_TOO_LARGE, nothing stored; one at the limit is fine', async () => {
    const { token, userId } = await signUp();
    const before = await countFiles();
    const big = Buffer.alloc(MAX_BYTES + 1);
    PNG.copy(big, 0, 0, 8);
    const body = await expectError(await upload(token, big, 'big.png', 'image/png'), 413, 'PAYLOAD_TOO_LARGE');
    expect(body.error.message).toContain(String(MAX_BYTES));
    expect(await countFiles()).toBe(before);
    expect(await countFiles(userId)).toBe(0);

    const exact = big.subarray(0, MAX_BYTES);
    expect((await upload(token, exact, 'exact.png', 'image/png')).status).toBe(200);
    expect(await countFiles(userId)).toBe(1);
  });

  it('no token → 401 TOKEN_MISSING; a bad one → 401 TOKEN_INVALID; nothing stored', async () => {
    const before = await countFiles();
    await expectError(await upload(undefined, PNG, 'a.png', 'image/png'), 401, 'TOKEN_MISSING');
    await expectError(await upload('garbage', PNG, 'a.png', 'image/png'), 401, 'TOKEN_INVALID');
    // Refused before the body is read, even a large one; the connection stays usable.
    await expectError(await upload(undefined, Buffer.alloc(2 * MAX_BYTES), 'big.png', 'image/png'), 401, 'TOKEN_MISSING');
    expect((await t.fetch('/healthz')).status).toBe(200);
    expect(await countFiles()).toBe(before);
  });

  it('not multipart, no file, two files → 400 INVALID_INPUT', async () => {
    const { token } = await signUp();
    const auth = { authorization: `Bearer ${token}` };
    const json = await t.fetch('/avatar', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"file":"x"}' });
    await expectError(json, 400, 'INVALID_INPUT');
    const raw = await t.fetch('/avatar', { method: 'POST', headers: { ...auth, 'content-type': 'image/png' }, body: PNG });
    await expectError(raw, 400, 'INVALID_INPUT');
    await expectError(await t.fetch('/avatar', { method: 'POST', headers: auth }), 400, 'INVALID_INPUT');

    const fieldsOnly = new FormData();
    fieldsOnly.append('note', 'no file here');
    await expectError(await t.fetch('/avatar', { method: 'POST', headers: auth, body: fieldsOnly }), 400, 'INVALID_INPUT');

    const two = new FormData();
    two.append('file', new Blob([PNG], { type: 'image/png' }), 'a.png');
    two.append('file2', new Blob([PNG], { type: 'image/png' }), 'b.png');
    await expectError(await t.fetch('/avatar', { method: 'POST', headers: auth, body: two }), 400, 'INVALID_INPUT');
  });

  it('a new avatar replaces the old one: the old file is deleted, its URL is 404', async () => {
    const { token, userId } = await signUp();
    const first = (await (await upload(token, PNG, 'a.png', 'image/png')).json()) as UploadAnswer;
    const second = (await (await upload(token, JPEG, 'b.jpg', 'image/jpeg')).json()) as UploadAnswer;
    expect(second.avatarUrl).not.toBe(first.avatarUrl);
    expect(await countFiles(userId)).toBe(1);
    await expectError(await fetch(first.avatarUrl), 404, 'NOT_FOUND');
    expect((await fetch(second.avatarUrl)).status).toBe(200);
    expect((await t.client({ token }).auth.me.query()).avatarUrl).toBe(second.avatarUrl);
  });

  it("an avatarUrl pointing at another user's avatar never gets that avatar deleted", async () => {
    const a = await signUp();
    const b = await signUp();
    const ofA = (await (await upload(a.token, PNG, 'a.png', 'image/png')).json()) as UploadAnswer;
    await t.backend.services.db.User.updateOne({ _id: b.userId }, { $set: { avatarUrl: ofA.avatarUrl } });
    t.backend.services.auth.principals.invalidateUser(b.userId);
    expect((await upload(b.token, PNG, 'b.png', 'image/png')).status).toBe(200);
    expect((await fetch(ofA.avatarUrl)).status).toBe(200);
    expect(await countFiles(a.userId)).toBe(1);
  });

  it('GET /avatars/<unknown or malformed id> → 404 JSON NOT_FOUND', async () => {
    await expectError(await t.fetch('/avatars/not-an-id'), 404, 'NOT_FOUND');
    await expectError(await t.fetch('/avatars/0123456789ab'), 404, 'NOT_FOUND'); // 12 characters: no ObjectId here
    await expectError(await t.fetch('/avatars/0123456789abcdef01234567'), 404, 'NOT_FOUND');
  });

  it('tRPC is untouched: /trpc/ping answers, and multipart to /trpc still goes to tRPC', async () => {
    expect(await t.client().ping.query()).toBe('pong');
    const res = await t.fetch('/trpc/ping');
    expect(res.status).toBe(200);

    const form = new FormData();
    form.append('file', new Blob([PNG], { type: 'image/png' }), 'a.png');
    const trpc = await t.fetch('/trpc/auth.login', { method: 'POST', body: form });
    expect(trpc.status).toBeGreaterThanOrEqual(400);
    expect(trpc.status).toBeLessThan(500);
    const text = await trpc.text();
    expect(text).toContain('"json"'); // tRPC's (superjson) error shape, not this route's
    expect(text).toContain('INVALID_INPUT');
  });
});
