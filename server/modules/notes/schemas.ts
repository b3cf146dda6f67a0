import { z } from 'zod';

/** A note as its owner sees it. */
export const noteOutput = z.object({
  id: z.string(),
  text: z.string(),
  createdAt: z.date(),
});
export type NoteOutput = z.infer<typeof noteOutput>;

export const noteCreateInput = z.object({
  text: z.string().trim().min(1).max(1000),
});

/** A page of the caller's notes, newest first: `limit` notes (default 50) after `offset`. */
export const noteListInput = z
  .object({
    limit: z.int().min(1).max(100).optional(),
    offset: z.int().min(0).max(10_000).optional(),
  })
  .optional();

export const noteListOutput = z.array(noteOutput);

export const noteIdInput = z.object({
  id: z.string().regex(/^[0-9a-f]{24}$/, 'Expected a note id (24 hex digits)'),
});

export const noteDeleteOutput = z.object({ ok: z.literal(true) });
