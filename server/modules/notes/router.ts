import { protectedProcedure, router, userLimitedProcedure } from '../kit';
import { noteCreateInput, noteDeleteOutput, noteIdInput, noteListInput, noteListOutput, noteOutput } from './schemas';
import { createNote, deleteNote, listNotes } from './service';

/**
 * The example module: a signed-in user's own notes. Registered in server/modules/index.ts as `notes`; copy
 * this folder to start a module of your own (docs/extending.md).
 */
export const notesRouter = router({
  /** Writes: counted in the per-user rate limit. */
  create: userLimitedProcedure
    .input(noteCreateInput)
    .output(noteOutput)
    .mutation(({ ctx, input }) => createNote(ctx, input)),

  /** Also a REST route: GET /api/notes?limit=&offset=. */
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/api/notes', summary: 'My notes, newest first, a page at a time (limit, offset)' } })
    .input(noteListInput)
    .output(noteListOutput)
    .query(({ ctx, input }) => listNotes(ctx, input)),

  delete: userLimitedProcedure
    .input(noteIdInput)
    .output(noteDeleteOutput)
    .mutation(({ ctx, input }) => deleteNote(ctx, input.id)),
});
