import { z } from 'zod';

/** A document users accept (CONSENT_VERSIONS' keys): `privacy`, `terms`, `children-privacy` ... */
export const CONSENT_DOCUMENT = /^[a-z][a-z0-9_-]{0,31}$/;
/** A version of it, as the operator writes it in CONSENT_VERSIONS: `2024-05`, `v3` ... */
export const CONSENT_VERSION = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;

/** One acceptance: which version of which document. The server adds when and in which app. */
export const consentInput = z.object({
  document: z.string().regex(CONSENT_DOCUMENT, 'must be a document name: 1-32 lowercase letters, digits, - or _'),
  version: z.string().regex(CONSENT_VERSION, 'must be a version: 1-64 printable characters'),
});
export type ConsentInput = z.infer<typeof consentInput>;

/** What auth.register takes besides the login: each document at most once. */
export const registerConsents = z
  .array(consentInput)
  .max(16)
  .refine((list) => new Set(list.map((c) => c.document)).size === list.length, 'lists a document twice');

/** A stored acceptance: the proof of consent (server/db/models/consent.ts). */
export const consentRecord = z.object({
  document: z.string(),
  version: z.string(),
  acceptedAt: z.date(),
  /** The mini program it was given in. */
  appId: z.string(),
});
export type ConsentRecord = z.infer<typeof consentRecord>;

export const recordConsentOutput = z.object({
  recorded: consentRecord,
  /** The configured documents still not accepted at their current version (as auth.me says). */
  consentRequired: z.array(z.string()),
});
export type RecordConsentOutput = z.infer<typeof recordConsentOutput>;
