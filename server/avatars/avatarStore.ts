import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import mongoose from 'mongoose';
import type { Database } from '../db/connection';
import { AppError } from '../errors';
import { isImageType, type ImageType } from './imageType';

/** GridFS bucket of uploaded avatars: `avatars.files` (one document per image) and `avatars.chunks`. */
export const AVATAR_BUCKET = 'avatars';

interface AvatarMetadata {
  userId: string;
  contentType: ImageType;
}

type ObjectId = InstanceType<typeof mongoose.mongo.ObjectId>;

function bucketOf(db: Database): InstanceType<typeof mongoose.mongo.GridFSBucket> {
  const native = db.connection.db;
  if (!native) throw new AppError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; try again shortly');
  return new mongoose.mongo.GridFSBucket(native, { bucketName: AVATAR_BUCKET });
}

/** A 24-hex-digit id as an ObjectId; anything else (including ObjectId's 12-character strings) → null. */
export function parseAvatarId(id: string): ObjectId | null {
  return /^[0-9a-f]{24}$/i.test(id) ? new mongoose.mongo.ObjectId(id) : null;
}

/**
 * The avatar id in a URL this server handed out (`<base>/avatars/<id>`), else null. Only the path
 * is looked at, so a changed PUBLIC_BASE_URL or Host still finds the old file; deletion also checks
 * the file's owner, so a URL a user typed in cannot reach someone else's avatar.
 */
export function avatarIdFromUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return null;
  }
  const match = /\/avatars\/([0-9a-f]{24})$/i.exec(pathname);
  return match ? match[1]!.toLowerCase() : null;
}

/** Stores the image; its owner and type go into the file's metadata. */
export async function saveAvatar(db: Database, input: { userId: string; contentType: ImageType; bytes: Uint8Array }): Promise<{ id: string }> {
  const metadata: AvatarMetadata = { userId: input.userId, contentType: input.contentType };
  const upload = bucketOf(db).openUploadStream(`avatar-${input.userId}`, { metadata });
  await pipeline(Readable.from([Buffer.from(input.bytes)]), upload);
  return { id: String(upload.id) };
}

/** The stored image, streamed; null for an unknown or malformed id. */
export async function openAvatar(
  db: Database,
  id: string,
): Promise<{ contentType: ImageType | 'application/octet-stream'; length: number; stream: Readable } | null> {
  const _id = parseAvatarId(id);
  if (!_id) return null;
  const bucket = bucketOf(db);
  const [file] = await bucket.find({ _id }).limit(1).toArray();
  if (!file) return null;
  const declared = (file.metadata as Partial<AvatarMetadata> | undefined)?.contentType;
  return {
    contentType: isImageType(declared) ? declared : 'application/octet-stream',
    length: file.length,
    stream: bucket.openDownloadStream(_id),
  };
}

/**
 * Deletes an avatar (its file and chunks). With `ownerId`, only a file that user uploaded.
 * True when something was deleted; an unknown id is not an error.
 */
export async function deleteAvatar(db: Database, id: string, opts: { ownerId?: string } = {}): Promise<boolean> {
  const _id = parseAvatarId(id);
  if (!_id) return false;
  const bucket = bucketOf(db);
  const filter = opts.ownerId === undefined ? { _id } : { _id, 'metadata.userId': opts.ownerId };
  const [file] = await bucket.find(filter).limit(1).toArray();
  if (!file) return false;
  try {
    await bucket.delete(_id);
    return true;
  } catch (err) {
    // Deleted meanwhile by a concurrent replacement: the outcome we wanted.
    if (err instanceof mongoose.mongo.MongoRuntimeError && /file not found/i.test(err.message)) return false;
    throw err;
  }
}
