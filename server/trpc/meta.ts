import type { z } from 'zod';
import type { Reason } from '../../shared';

/**
 * A procedure's REST face, declared beside it (trpc-to-openapi's `.meta({ openapi })`):
 *
 *     list: protectedProcedure
 *       .meta({ openapi: { method: 'GET', path: '/api/notes', summary: 'My notes, newest first' } })
 *       .input(noteListInput).output(noteListOutput).query(...)
 *
 * A procedure without it has no `/api` route (it stays in the typed client). The route, its
 * entry in /openapi.json and the statuses it lists are built from this and from the procedure
 * itself (server/rest/restProcedures.ts): a token is required where the procedure is a
 * protectedProcedure, 429 where it is rate limited, 413/415 where a body is read.
 */
export interface RestExposure {
  /** GET takes the input from the query string (converted per the schema), POST as a JSON body. */
  method: 'GET' | 'POST';
  /** No path parameters: the input comes whole from the query string or the body. */
  path: `/api/${string}`;
  summary: string;
  description?: string;
  /** The document's grouping; the first segment of the procedure's path (`notes.list` → notes) by default. */
  tags?: string[];
  /**
   * The reasons of its own the procedure may answer with (its AppErrors), for the statuses the
   * document lists; those of the HTTP edge, the token and the rate limit are added by themselves.
   */
  reasons?: readonly Reason[];
  /** For the document only, where the procedure validates its output elsewhere (no `.output()`). */
  output?: z.ZodType;
}

/** What a procedure may declare with `.meta()`. */
export interface ProcedureMeta {
  openapi?: RestExposure;
}
