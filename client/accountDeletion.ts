import type { TRPCClient } from '@trpc/client';
import type { AppRouter } from '../server/root';
import type { CancelDeletionOutput, DeleteAccountOutput } from '../shared/schemas/accountDeletion';
import type { TokenStore } from './tokenStore';

interface DeletionDeps {
  /** The API with the session (deleteAccount needs the signed-in user), or without (cancelDeletion: there is none). */
  api: TRPCClient<AppRouter>;
  /** wx.login's code: the proof that the person is present (undefined on Cloud Hosting, where the gateway names the user). */
  loginCode: () => Promise<string | undefined>;
  store: TokenStore;
}

const proof = (code: string | undefined) => (code === undefined ? {} : { code });

/**
 * user.deleteAccount with a fresh wx.login code, then the session is forgotten on this phone: the
 * server has ended it already (deleted, or pending for the cooling-off period).
 */
export async function deleteAccount(deps: DeletionDeps): Promise<DeleteAccountOutput> {
  const result = await deps.api.user.deleteAccount.mutate(proof(await deps.loginCode()));
  deps.store.clear();
  return result;
}

/** user.cancelDeletion with a fresh wx.login code (the user has no session meanwhile); login() works again after it. */
export async function cancelDeletion(deps: DeletionDeps): Promise<CancelDeletionOutput> {
  return deps.api.user.cancelDeletion.mutate(proof(await deps.loginCode()));
}
