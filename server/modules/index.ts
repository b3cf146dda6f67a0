import { notes } from './notes';

/**
 * The team's modules: one line each (docs/extending.md). Each is mounted under its name in the
 * root router (`api.notes.list`), and its lifecycle hooks run when a user's data is deleted or
 * exported.
 */
export const modules = {
  notes,
};
