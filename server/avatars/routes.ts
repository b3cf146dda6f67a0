import multipart from '@fastify/multipart';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { AppServices } from '../appServices';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import { sendRestError, toRestError } from '../rest/restErrors';
import { authenticate } from '../services/authenticate';
import { uploadAvatar } from '../services/avatar';
import { openAvatar } from './avatarStore';

/**
 * The avatar upload `wx.uploadFile` calls, and the public URL the stored images are served at.
 *
 * `POST /avatar` (Authorization: Bearer <accessToken>, multipart/form-data, one file; name it
 * `file`): the bytes must be a PNG, JPEG, GIF or WebP (judged by content, never by file name or
 * declared type) of at most AVATAR_MAX_BYTES. Answers `{ avatarUrl, user }`. The new avatar
 * replaces the user's previous upload, which is deleted: a user has one stored avatar, plus at
 * most one upload in flight (a second one meanwhile is RATE_LIMITED).
 *
 * `GET /avatars/:id`: the image, cacheable forever (a new upload gets a new, random id).
 *
 * @fastify/multipart is registered in this plugin's own scope only: the tRPC plugin keeps its own
 * multipart parser on /trpc, and no other route parses multipart.
 */
export function registerAvatarRoutes(app: FastifyInstance, services: AppServices): void {
  const maxBytes = services.config.avatarMaxBytes;
  const { db } = services;
  const authenticated = new WeakMap<FastifyRequest, { userId: string; openId: string }>();

  app.register(async (scope) => {
    // Only multipart is parsed here; JSON, text ... are refused before any body is read.
    scope.removeAllContentTypeParsers();
    await scope.register(multipart, {
      limits: { files: 1, fileSize: maxBytes, fields: 20, fieldSize: 1024, parts: 25, headerPairs: 100 },
      throwFileSizeLimit: true,
    });

    scope.setErrorHandler((error: FastifyError, req, reply) =>
      sendRestError(reply, toRestError(error, req.log as Logger, { site: { kind: 'upload', maxBytes }, logLine: 'avatar request failed unexpectedly', url: req.url })),
    );

    scope.post('/avatar', {
      // Before the body is read: an anonymous upload is refused without parsing a byte of it.
      onRequest: async (req) => {
        const { user, openId } = await authenticate(services, req.headers.authorization);
        // The same per-user bucket as the procedures that write (server/trpc/init.ts).
        await services.auth.limiter.check('user', String(user._id));
        authenticated.set(req, { userId: String(user._id), openId });
      },
      handler: async (req, reply) => {
        const actor = authenticated.get(req);
        if (!actor) throw new AppError('TOKEN_MISSING', 'Send Authorization: Bearer <accessToken>');
        const uploaded = await uploadAvatar(services.platform, req.log as Logger, actor, () => readSingleFile(req));
        return reply.code(200).send(uploaded);
      },
    });

    scope.get<{ Params: { id: string } }>('/avatars/:id', async (req, reply) => {
      const avatar = await openAvatar(db, req.params.id);
      if (!avatar) throw new AppError('NOT_FOUND', 'No such avatar');
      return reply
        .code(200)
        .header('content-type', avatar.contentType)
        .header('content-length', String(avatar.length))
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        .send(avatar.stream);
    });
  });
}

/**
 * The one file of a multipart body, whatever its field name (wx.uploadFile's `name`; use 'file').
 * Plain fields (wx.uploadFile's `formData`) are read and ignored. Over the size limit → the
 * multipart plugin's FST_REQ_FILE_TOO_LARGE (413); a second file → FST_FILES_LIMIT.
 */
async function readSingleFile(req: FastifyRequest): Promise<Buffer> {
  if (!req.isMultipart()) throw new AppError('INVALID_INPUT', "Send multipart/form-data with one file field named 'file'");
  let bytes: Buffer | null = null;
  for await (const part of req.parts()) {
    if (part.type !== 'file') continue;
    if (bytes) throw new AppError('INVALID_INPUT', 'Send exactly one file');
    bytes = await part.toBuffer();
  }
  if (!bytes) throw new AppError('INVALID_INPUT', "The upload has no file; send it in a field named 'file'");
  return bytes;
}
