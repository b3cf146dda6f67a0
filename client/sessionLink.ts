import type { TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import type { AppRouter } from '../server/root';
import { errorReason } from './errors';
import type { LoginFlow } from './loginFlow';

/** Reasons that mean "this call had no valid session": log in again and retry once. */
const SESSION_GONE = new Set(['TOKEN_MISSING', 'TOKEN_EXPIRED', 'TOKEN_INVALID', 'SESSION_REVOKED']);
/** These make or end a session; retrying them with a new session makes no sense. */
const SESSION_PROCEDURES = new Set(['auth.login', 'auth.register', 'auth.refresh', 'auth.logout']);

/**
 * A tRPC link in front of the http link: when a call fails because its token is missing, expired,
 * invalid or its session ended, re-establish the session (one refresh or login for any number of
 * such calls) and retry it once.
 */
export function sessionLink(flow: LoginFlow): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let unsubscribe: (() => void) | undefined;
        let retried = false;
        let stopped = false;
        const attempt = () => {
          const generation = flow.generation;
          const subscription = next(op).subscribe({
            next: (value) => observer.next(value),
            complete: () => observer.complete(),
            error: (err) => {
              if (retried || stopped || SESSION_PROCEDURES.has(op.path) || !SESSION_GONE.has(errorReason(err))) {
                observer.error(err);
                return;
              }
              retried = true;
              flow.reestablish(generation).then(
                () => !stopped && attempt(),
                (loginError: unknown) => observer.error(loginError as typeof err),
              );
            },
          });
          unsubscribe = () => subscription.unsubscribe();
        };
        attempt();
        return () => {
          stopped = true;
          unsubscribe?.();
        };
      });
}
