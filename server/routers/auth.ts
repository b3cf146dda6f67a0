import { loginInput, loginOutput, registerInput, registerOutput, userOutput } from '../../shared';
import { login, register } from '../services/auth';
import { toUserOutput } from '../services/users';
import { protectedProcedure, publicProcedure, router } from '../trpc/init';

export const authRouter = router({
  login: publicProcedure
    .input(loginInput)
    .output(loginOutput)
    .mutation(({ ctx, input }) => login(ctx.services.auth, input)),

  register: publicProcedure
    .input(registerInput)
    .output(registerOutput)
    .mutation(({ ctx, input }) => register(ctx.services.auth, input)),

  me: protectedProcedure.output(userOutput).query(({ ctx }) => toUserOutput(ctx.user)),
});
