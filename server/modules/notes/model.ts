import { Schema } from 'mongoose';
import { defineModel } from '../kit';

const noteSchema = new Schema(
  {
    /** The owner: every query filters on it, so one user never reaches another's notes. */
    userId: { type: String, required: true },
    text: { type: String, required: true },
    /** From the context's clock (ctx.now()), so tests can move time. */
    createdAt: { type: Date, required: true },
  },
  { collection: 'notes', versionKey: false },
);
// A user's notes, newest first. On MongoDB this index serves the list. The embedded database
// (FerretDB v1 on SQLite) pushes only `_id` filters down to SQL: there a list reads the whole
// collection and filters it, fine for development and tests, not for production data.
noteSchema.index({ userId: 1, createdAt: -1 });

/** `noteModel(ctx.db)`: the model on the request's database. */
export const noteModel = defineModel('Note', noteSchema);
