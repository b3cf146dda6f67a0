import { AppError, DEFAULT_PAGE_SIZE, type ModuleHookContext, type UserContext } from '../kit';
import { noteModel } from './model';
import { NoteReason } from './reasons';
import type { NoteOutput } from './schemas';

interface StoredNote {
  _id: unknown;
  text: string;
  createdAt: Date;
}

const toNoteOutput = (note: StoredNote): NoteOutput => ({ id: String(note._id), text: note.text, createdAt: note.createdAt });

export async function createNote(ctx: UserContext, input: { text: string }): Promise<NoteOutput> {
  const note = await noteModel(ctx.db).create({ userId: ctx.claims.userId, text: input.text, createdAt: ctx.now() });
  return toNoteOutput(note);
}

/** The caller's notes, newest first, one page. */
export async function listNotes(ctx: UserContext, page: { limit?: number | undefined; offset?: number | undefined } = {}): Promise<NoteOutput[]> {
  const notes = await noteModel(ctx.db)
    .find({ userId: ctx.claims.userId })
    .sort({ createdAt: -1, _id: -1 })
    .skip(page.offset ?? 0)
    .limit(page.limit ?? DEFAULT_PAGE_SIZE)
    .lean();
  return notes.map(toNoteOutput);
}

/**
 * Deletes one of the caller's notes. Found by `_id` (the one filter every database we run on
 * answers from an index), then checked for its owner: another user's note is NOTE_NOT_FOUND too,
 * so ids reveal nothing.
 */
export async function deleteNote(ctx: UserContext, id: string): Promise<{ ok: true }> {
  const notes = noteModel(ctx.db);
  const note = await notes.findById(id).lean();
  if (!note || note.userId !== ctx.claims.userId) throw new AppError(NoteReason.NOTE_NOT_FOUND, 'No such note');
  await notes.deleteOne({ _id: note._id });
  return { ok: true };
}

/** The module's deletion hook: every note of the user goes (idempotent: a resumed deletion calls it again). */
export async function deleteNotesOfUser(ctx: ModuleHookContext, userId: string): Promise<void> {
  await noteModel(ctx.db).deleteMany({ userId });
}

/** The module's export hook: the user's notes, oldest first. */
export async function exportNotesOfUser(ctx: ModuleHookContext, userId: string): Promise<{ notes: NoteOutput[] }> {
  const notes = await noteModel(ctx.db).find({ userId }).sort({ createdAt: 1, _id: 1 }).lean();
  return { notes: notes.map(toNoteOutput) };
}
