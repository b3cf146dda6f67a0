import { sessionListOutput } from '../../shared';
import { listSessions } from '../services/sessions';
import { protectedProcedure, router } from '../trpc/init';

export const userRouter = router({
  /** The user's live sessions (devices), the asking one marked `current`. */
  sessions: protectedProcedure
    .output(sessionListOutput)
    .query(({ ctx }) => listSessions(ctx.services.auth.sessions, ctx.claims.userId, ctx.claims.sessionId)),
});
