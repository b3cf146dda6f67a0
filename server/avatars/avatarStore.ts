import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import mongoose from 'mongoose';
import type { Database } from '../db/connection';
import { AppError } from '../errors';
import { isAvatarId, newAvatarId } from './avatarUrls';
import { isImageType, type ImageType } from './imageType';

/** GridFS bucket of uploaded avatars: `avatars.files` (one document per image) and `avatars.chunks`. */
export const AVATAR_BUCKET = 'avatars';

interface AvatarMetadata {
  userId: string;
  contentType: ImageType;
}

/**
 * GridFS takes any _id; the driver's types say ObjectId. Our ids are random strings (avatarUrls.ts):
 * ObjectIds are sequential, so one upload would tell the ids of its neighbours.
 */
type FileId = InstanceType<typeof mongoose.mongo.ObjectId>;
const asFileId = (id: string) => id as unknown as FileId;

function bucketOf(db: Database): InstanceType<typeof mongoose.mongo.GridFSBucket> {
  const native = db.connection.db;
  if (!native) throw new AppError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; try again shortly');
  return new mongoose.mongo.GridFSBucket(native, { bucketName: AVATAR_BUCKET });
}

/** Stores the image under a new random id; its owner and type go into the file's metadata. */
export async function saveAvatar(db: Database, input: { userId: string; contentType: ImageType; bytes: Uint8Array }): Promise<{ id: string }> {
  const id = newAvatarId();
  const metadata: AvatarMetadata = { userId: input.userId, contentType: input.contentType };
  const upload = bucketOf(db).openUploadStreamWithId(asFileId(id), `avatar-${input.userId}`, { metadata });
  await pipeline(Readable.from([Buffer.from(input.bytes)]), upload);
  return { id };
}

/** The stored image, streamed; null for an unknown or malformed id. */
export async function openAvatar(
  db: Database,
  id: string,
): Promise<{ contentType: ImageType | 'application/octet-stream'; length: number; stream: Readable } | null> {
  if (!isAvatarId(id)) return null;
  const _id = asFileId(id);
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
  if (!isAvatarId(id)) return false;
  const _id = asFileId(id);
  const bucket = bucketOf(db);
  // By _id alone (the filter the embedded database answers from an index); the owner is compared here.
  const [file] = await bucket.find({ _id }).limit(1).toArray();
  if (!file) return false;
  if (opts.ownerId !== undefined && (file.metadata as Partial<AvatarMetadata> | undefined)?.userId !== opts.ownerId) return false;
  try {
    await bucket.delete(_id);
    return true;
  } catch (err) {
    // Deleted meanwhile by a concurrent replacement: the outcome we wanted.
    if (err instanceof mongoose.mongo.MongoRuntimeError && /file not found/i.test(err.message)) return false;
    throw err;
  }
}

/**
 * Every avatar a user uploaded (files and chunks): the one they use and any upload in flight or
 * left behind. By the owner in the files' metadata: not an `_id` filter (a read of every avatar's
 * file document on the embedded database), run only by account deletion, which is rare. Returns
 * how many were deleted.
 */
export async function deleteAvatarsOfUser(db: Database, userId: string): Promise<number> {
  const files = await bucketOf(db).find({ 'metadata.userId': userId }, { projection: { _id: 1 } }).toArray();
  let deleted = 0;
  for (const file of files) if (await deleteAvatar(db, String(file._id))) deleted++;
  return deleted;
}
