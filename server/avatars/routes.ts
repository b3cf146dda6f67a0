import multipart from '@fastify/multipart';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorReason, Reason } from '../../shared';
import type { AppServices } from '../appServices';
import { AppError, isDatabaseUnavailable } from '../errors';
import { authenticate } from '../services/authenticate';
import { toUserOutput, type StoredUser } from '../services/users';
import { withAvatarLock } from './avatarLock';
import { deleteAvatar, openAvatar, saveAvatar } from './avatarStore';
import { detectImageType } from './imageType';
import { sendRestError, statusOfReason } from '../rest/restErrors';

/** The plain JSON error of non-tRPC routes (the REST routes' shape), with the reason's HTTP status. */
function sendError(reply: FastifyReply, reason: Reason, message: string, retryAfterS?: number) {
  return sendRestError(reply, { status: statusOfReason(reason), reason, message, ...(retryAfterS !== undefined ? { retryAfterS } : {}) });
}

/** Fastify's and @fastify/multipart's own errors, as a reason. */
function reasonOfFrameworkError(error: FastifyError): { reason: ErrorReason; message: string } | null {
  // A driver error's code is a number (11000 ...), and it has no statusCode: not ours to map.
  if (typeof error.code !== 'string') return null;
  switch (error.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return { reason: 'PAYLOAD_TOO_LARGE', message: '' }; // message filled in with the limit
    case 'FST_FILES_LIMIT':
      return { reason: 'INVALID_INPUT', message: 'Send exactly one file' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return { reason: 'INVALID_INPUT', message: "Send multipart/form-data with one file field named 'file'" };
  }
  if (error.statusCode === 413 && error.code.startsWith('FST_ERR_CTP_')) return { reason: 'PAYLOAD_TOO_LARGE', message: '' };
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { reason: 'INVALID_INPUT', message: 'The upload is not valid multipart/form-data' };
  }
  return null;
}

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
  const { db, logger, avatarUrls } = services;
  const authenticated = new WeakMap<FastifyRequest, { user: StoredUser; openId: string }>();

  /** Makes the stored image the user's avatar and deletes the upload it replaced (under the avatar lock). */
  async function swapAvatar(userId: string, id: string): Promise<void> {
    let before: StoredUser | null;
    try {
      before = await db.User.findOneAndUpdate({ _id: userId, status: 'active' }, { $set: { avatarId: id, avatarUrl: null } }, { returnDocument: 'before' }).lean<StoredUser>();
    } catch (err) {
      await deleteAvatar(db, id).catch(() => undefined);
      throw err;
    }
    if (!before) {
      await deleteAvatar(db, id).catch(() => undefined);
      // Banned or deleted since the principal cache last looked.
      const exists = await db.User.exists({ _id: userId });
      throw exists ? new AppError('USER_BANNED', 'This account is banned') : new AppError('USER_NOT_FOUND', 'The user of this token no longer exists');
    }
    services.auth.principals.invalidateUser(userId);
    if (before.avatarId && before.avatarId !== id) {
      // Only a file this user uploaded: the owner is checked where it is deleted.
      await deleteAvatar(db, before.avatarId, { ownerId: userId }).catch((err: unknown) => logger.warn({ err, userId }, 'could not delete the previous avatar'));
    }
  }

  app.register(async (scope) => {
    // Only multipart is parsed here; JSON, text ... are refused before any body is read.
    scope.removeAllContentTypeParsers();
    await scope.register(multipart, {
      limits: { files: 1, fileSize: maxBytes, fields: 20, fieldSize: 1024, parts: 25, headerPairs: 100 },
      throwFileSizeLimit: true,
    });

    scope.setErrorHandler((error: FastifyError, req, reply) => {
      if (error instanceof AppError) return sendError(reply, error.reason, error.message, error.details.retryAfterS);
      if (isDatabaseUnavailable(error)) {
        return sendError(reply, 'SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; try again shortly');
      }
      const known = reasonOfFrameworkError(error);
      if (known) {
        const message = known.reason === 'PAYLOAD_TOO_LARGE' ? `The image is larger than ${maxBytes} bytes` : known.message;
        return sendError(reply, known.reason, message);
      }
      logger.error({ err: error, url: req.url.split('?')[0] }, 'avatar request failed unexpectedly');
      return sendError(reply, 'INTERNAL', 'Internal server error');
    });

    scope.post('/avatar', {
      // Before the body is read: an anonymous upload is refused without parsing a byte of it.
      onRequest: async (req) => {
        const { user, openId } = await authenticate(services, req.headers.authorization);
        // The same per-user bucket as the procedures that write (server/trpc/init.ts).
        await services.auth.limiter.check('user', String(user._id));
        authenticated.set(req, { user, openId });
      },
      handler: async (req, reply) => {
        const principal = authenticated.get(req);
        if (!principal) throw new AppError('TOKEN_MISSING', 'Send Authorization: Bearer <accessToken>');
        const userId = String(principal.user._id);

        const avatarUrl = await withAvatarLock(services.platform, userId, async () => {
          const bytes = await readSingleFile(req);
          const contentType = detectImageType(bytes);
          if (!contentType) throw new AppError('UNSUPPORTED_IMAGE', 'The file is not a PNG, JPEG, GIF or WebP image');
          const { id } = await saveAvatar(db, { userId, contentType, bytes });
          await swapAvatar(userId, id);
          return avatarUrls.urlOf(id);
        });
        const user = await db.User.findById(userId).lean<StoredUser>();
        if (!user) throw new AppError('USER_NOT_FOUND', 'The user of this token no longer exists');
        return reply.code(200).send({ avatarUrl, user: toUserOutput(user, principal.openId, avatarUrls) });
      },
    });

    scope.get<{ Params: { id: string } }>('/avatars/:id', async (req, reply) => {
      const avatar = await openAvatar(db, req.params.id);
      if (!avatar) return sendError(reply, 'NOT_FOUND', 'No such avatar');
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
