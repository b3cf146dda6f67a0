import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { expectReason } from './helpers/expectError';
import { uniqueOpenId, useTestBackend, type TestBackend } from './helpers/testBackend';

// A valid 1x1 PNG and a tiny JPEG, byte for byte.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);
const MAX_BYTES = 1_048_576;
/** 128 random bits, base64url: nothing sequential to count through. */
const AVATAR_ID = '[A-Za-z0-9_-]{22}';
const idOf = (avatarUrl: string) => avatarUrl.slice(avatarUrl.lastIndexOf('/') + 1);

/** POST /avatar over node:http, which (unlike fetch) sends the Host header it is given. */
function uploadWithHost(t: TestBackend, token: string, host: string, bytes: Buffer): Promise<{ status: number; body: { avatarUrl: string } }> {
  const boundary = `b${randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const { hostname, port } = new URL(t.url);
  const headers = { host, authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length };
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: '/avatar', method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as { avatarUrl: string } }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

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
    expect(body.avatarUrl).toMatch(new RegExp(`^${t.url}/avatars/${AVATAR_ID}$`));
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

  it("a stored avatar id of another user's avatar never gets that avatar deleted", async () => {
    const a = await signUp();
    const b = await signUp();
    const ofA = (await (await upload(a.token, PNG, 'a.png', 'image/png')).json()) as UploadAnswer;
    await t.backend.services.db.User.updateOne({ _id: b.userId }, { $set: { avatarId: idOf(ofA.avatarUrl) } });
    t.backend.services.auth.users.forget(b.userId); // written behind the user store's back
    expect((await upload(b.token, PNG, 'b.png', 'image/png')).status).toBe(200);
    expect((await fetch(ofA.avatarUrl)).status).toBe(200);
    expect(await countFiles(a.userId)).toBe(1);
  });

  it('an avatar replaced through updateProfile is deleted: 20 replacements leave no file behind', async () => {
    const { token, userId } = await signUp();
    const api = t.client({ token });
    for (let i = 0; i < 20; i++) {
      const uploaded = (await (await upload(token, PNG, 'a.png', 'image/png')).json()) as UploadAnswer;
      const user = await api.user.updateProfile.mutate({ avatarUrl: `https://cdn.example.com/${i}.png` });
      expect(user.avatarUrl).toBe(`https://cdn.example.com/${i}.png`);
      await expectError(await fetch(uploaded.avatarUrl), 404, 'NOT_FOUND');
    }
    expect(await countFiles(userId)).toBe(0);
    // A nickname alone leaves the avatar as it is.
    const kept = (await (await upload(token, PNG, 'a.png', 'image/png')).json()) as UploadAnswer;
    expect((await api.user.updateProfile.mutate({ nickName: 'Kept' })).avatarUrl).toBe(kept.avatarUrl);
    expect((await fetch(kept.avatarUrl)).status).toBe(200);
    expect(await countFiles(userId)).toBe(1);
  });

  it('one stored avatar per user: of 8 simultaneous uploads one at a time runs, the others are RATE_LIMITED; one file is left', async () => {
    const { token, userId } = await signUp();
    const answers = await Promise.all(Array.from({ length: 8 }, () => upload(token, PNG, 'a.png', 'image/png')));
    const statuses = answers.map((r) => r.status);
    expect(statuses).toContain(200);
    for (const res of answers.filter((r) => r.status !== 200)) {
      const refused = await expectError(res, 429, 'RATE_LIMITED');
      expect(refused.error.message).toMatch(/in progress/);
    }
    const me = await t.client({ token }).auth.me.query();
    const stored = await files().find({ 'metadata.userId': userId }).toArray();
    expect(stored.map((f) => String(f._id))).toEqual([idOf(me.avatarUrl!)]);
  });

  it('avatar ids are 128 random bits, not sequential ObjectIds: neighbouring uploads share nothing', async () => {
    const a = await signUp();
    const b = await signUp();
    const first = idOf(((await (await upload(a.token, PNG, 'a.png', 'image/png')).json()) as UploadAnswer).avatarUrl);
    const second = idOf(((await (await upload(b.token, PNG, 'b.png', 'image/png')).json()) as UploadAnswer).avatarUrl);
    for (const id of [first, second]) {
      expect(id).toMatch(new RegExp(`^${AVATAR_ID}$`));
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
    // ObjectIds of the same second share their first 8 hex digits (the timestamp) and count up.
    expect(second.slice(0, 6)).not.toBe(first.slice(0, 6));
    expect(await files().countDocuments({ _id: first as never })).toBe(1);
  });

  it('the URL never comes from the Host header: the user document keeps the id, URLs use the server\'s own address', async () => {
    const { token, userId } = await signUp();
    const res = await uploadWithHost(t, token, 'evil.example', PNG);
    expect(res.status).toBe(200);
    expect(res.body.avatarUrl).toMatch(new RegExp(`^${t.url}/avatars/${AVATAR_ID}$`));
    const stored = await t.backend.services.db.User.findById(userId).lean();
    expect(stored).toMatchObject({ avatarId: idOf(res.body.avatarUrl), avatarUrl: null });
    expect(JSON.stringify(stored)).not.toContain('evil.example');
    expect((await t.client({ token }).auth.me.query()).avatarUrl).toBe(res.body.avatarUrl);
  });

  it('GET /avatars/<unknown or malformed id> → 404 JSON NOT_FOUND', async () => {
    await expectError(await t.fetch('/avatars/not-an-id'), 404, 'NOT_FOUND');
    await expectError(await t.fetch('/avatars/0123456789ab'), 404, 'NOT_FOUND'); // 12 characters: no ObjectId here
    await expectError(await t.fetch('/avatars/0123456789abcdef01234567'), 404, 'NOT_FOUND');
  });

  it('tRPC is untouched: /trpc/ping answers, and multipart to /trpc is refused in the tRPC shape', async () => {
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
    expect(text).toContain('UNSUPPORTED_MEDIA_TYPE'); // no procedure takes form data
  });
});

describe('avatar URLs with PUBLIC_BASE_URL', () => {
  const BASE = 'https://img.example.test/base';
  const t = useTestBackend({ AUTH_REGISTRATION: 'auto', PUBLIC_BASE_URL: `${BASE}/` });

  async function signUp() {
    const login = await t.client().auth.login.mutate({ code: t.wxLogin(uniqueOpenId('avatar_base')) });
    return { token: login.accessToken, userId: login.user.id, api: t.client({ token: login.accessToken }) };
  }

  it('are built from PUBLIC_BASE_URL whatever Host the upload came with, and served under /avatars', async () => {
    const { token, api } = await signUp();
    const res = await uploadWithHost(t, token, 'evil.example', PNG);
    expect(res.status).toBe(200);
    expect(res.body.avatarUrl).toMatch(new RegExp(`^${BASE}/avatars/${AVATAR_ID}$`));
    expect((await api.auth.me.query()).avatarUrl).toBe(res.body.avatarUrl);
    expect((await t.fetch(`/avatars/${idOf(res.body.avatarUrl)}`)).status).toBe(200);
  });

  it('updateProfile with the current avatar URL keeps it; with one of ours that is not the current avatar → INVALID_INPUT', async () => {
    const { token, userId, api } = await signUp();
    const other = await signUp();
    const mine = (await uploadWithHost(t, token, 'x', PNG)).body.avatarUrl;
    const theirs = (await uploadWithHost(t, other.token, 'x', PNG)).body.avatarUrl;

    // What a mini program does after wx.uploadFile: send the URL it got back, with the nickname.
    expect(await api.user.updateProfile.mutate({ nickName: 'Mine', avatarUrl: mine })).toMatchObject({ nickName: 'Mine', avatarUrl: mine });
    expect((await t.fetch(`/avatars/${idOf(mine)}`)).status).toBe(200);

    for (const avatarUrl of [theirs, `${BASE}/avatars/${'A'.repeat(22)}`, `${BASE}/avatars/x`]) {
      await expectReason(api.user.updateProfile.mutate({ nickName: 'Changed', avatarUrl }), 'INVALID_INPUT', 400);
    }
    expect(await api.auth.me.query()).toMatchObject({ nickName: 'Mine', avatarUrl: mine });
    expect((await t.fetch(`/avatars/${idOf(theirs)}`)).status).toBe(200);
    expect(await t.backend.services.db.connection.db!.collection('avatars.files').countDocuments({ 'metadata.userId': userId })).toBe(1);
  });
});
