import type { AnyRouter } from '@trpc/server';
import type { Context } from '../trpc/context';

/**
 * What a module's lifecycle hooks get: the database, a logger and the clock. Not a request: the
 * core calls these from an account deletion job (possibly resumed after a restart) or an export.
 */
export type ModuleHookContext = Pick<Context, 'db' | 'log' | 'now'>;

/**
 * A module: its router, and what it does when the core deletes or exports a user's data
 * (user.deleteAccount, user.exportData, the admin CLI's delete and export).
 */
export interface AppModule<TRouter extends AnyRouter = AnyRouter> {
  router: TRouter;
  /**
   * Delete (or irreversibly anonymize) everything this module stores about the user. Called
   * again if a deletion is resumed after a crash, so it must be idempotent; an error makes the
   * deletion job retry later. Without it the module is assumed to store nothing personal.
   */
  onUserDeleted?(ctx: ModuleHookContext, userId: string): Promise<void>;
  /** Everything this module stores about the user, as plain JSON, for the user's data export. Never a secret. */
  exportUserData?(ctx: ModuleHookContext, userId: string): Promise<unknown>;
}

/** `export const notes = defineModule({ router: notesRouter, onUserDeleted, exportUserData })`. */
export function defineModule<TRouter extends AnyRouter>(module: AppModule<TRouter>): AppModule<TRouter> {
  return module;
}

/** The modules' routers under their names, for the root router. */
export function routersOf<M extends Record<string, AppModule>>(modules: M): { [K in keyof M]: M[K]['router'] } {
  return Object.fromEntries(Object.entries(modules).map(([name, module]) => [name, module.router])) as { [K in keyof M]: M[K]['router'] };
}
