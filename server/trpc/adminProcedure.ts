import { AppError } from '../errors';
import { publicProcedure } from './init';

/**
 * For operators only: requires `ctx.admin === true`, which only an in-process caller sets
 * (createCaller(createContext({ services, admin: true }))); HTTP contexts never carry it.
 */
export const adminProcedure = publicProcedure.use(({ ctx, next }) => {
  if (ctx.admin !== true) throw new AppError('ADMIN_ONLY', 'This operation is for administrators');
  return next();
});
