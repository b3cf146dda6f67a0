import { defineReasons } from '../kit';

/** The notes module's own reasons, beside the core's (shared/reasons.ts), with their tRPC codes. */
export const NoteReason = defineReasons({
  NOTE_NOT_FOUND: 'NOT_FOUND', // no such note among the caller's own (another user's note is not found either)
});

// The same names for the type checker: AppError, error data and the client's errorReason() know them.
type NoteReasons = typeof NoteReason;
declare module '../../../shared/reasons' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ModuleReasons extends NoteReasons {}
}
