import { z } from 'zod';
import { wxLoginCode } from './wechatData';

/**
 * Account deletion (user.deleteAccount, user.cancelDeletion, admin.deleteUser). The proof that
 * the person is present is a fresh wx.login code of the same user in the same app: an access token
 * alone may have been copied. On WeChat Cloud Hosting the gateway's named caller is the proof.
 */
export const deletionProofInput = z.object({
  code: wxLoginCode.optional().meta({ description: 'A fresh wx.login code: required, except on WeChat Cloud Hosting, where the gateway names the user' }),
});
export type DeletionProofInput = z.infer<typeof deletionProofInput>;

/** Deleted now (ACCOUNT_DELETION_DELAY_DAYS=0), or scheduled after the cooling-off period. */
export const deleteAccountOutput = z.discriminatedUnion('status', [
  z.object({ status: z.literal('deleted') }),
  z.object({ status: z.literal('scheduled'), scheduledFor: z.date() }),
]);
export type DeleteAccountOutput = z.infer<typeof deleteAccountOutput>;

export const cancelDeletionOutput = z.object({ status: z.literal('cancelled') });
export type CancelDeletionOutput = z.infer<typeof cancelDeletionOutput>;
