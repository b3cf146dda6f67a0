import { defineModule } from '../kit';
import { notesRouter } from './router';
import { deleteNotesOfUser, exportNotesOfUser } from './service';

/** The example module, as registered in server/modules/index.ts. */
export const notes = defineModule({
  router: notesRouter,
  onUserDeleted: deleteNotesOfUser,
  exportUserData: exportNotesOfUser,
});
