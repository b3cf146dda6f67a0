import type { ConsentInput, RecordConsentOutput } from '../../shared';
import type { ConsentStore } from '../data/consents';
import { AppError } from '../errors';

/**
 * Consent: which version of which document (CONSENT_VERSIONS: privacy policy, terms ...) a user
 * accepted, when, in which mini program. Only the configured current version of a configured
 * document can be recorded: a record is proof that the user was shown that text, and the server
 * knows only which text is current. An app showing an old text, or one the operator never
 * configured, is refused, so no record ever claims consent to a text nobody can name.
 */
export interface ConsentDeps {
  /** CONSENT_VERSIONS: document → current version. */
  versions: Readonly<Record<string, string>>;
  store: ConsentStore;
  now: () => Date;
}

/** Throws the refusal when this is not the current version of a configured document. */
export function checkConsent(versions: Readonly<Record<string, string>>, input: ConsentInput): void {
  if (!Object.prototype.hasOwnProperty.call(versions, input.document)) {
    const known = Object.keys(versions);
    throw new AppError(
      'CONSENT_DOCUMENT_UNKNOWN',
      known.length === 0 ? 'This server asks for no consent (CONSENT_VERSIONS is empty)' : `No such document; the documents are: ${known.join(', ')}`,
    );
  }
  const current = versions[input.document]!;
  if (input.version !== current) {
    throw new AppError('CONSENT_VERSION_NOT_CURRENT', `The current version of ${input.document} is ${current}; show that one and record it`);
  }
}

/** user.recordConsent: records one acceptance by the signed-in user, in the app of their token. */
export async function recordConsent(deps: ConsentDeps, actor: { userId: string; appId: string }, input: ConsentInput): Promise<RecordConsentOutput> {
  checkConsent(deps.versions, input);
  const recorded = { document: input.document, version: input.version, acceptedAt: deps.now(), appId: actor.appId };
  const consentRequired = await deps.store.append(actor.userId, [recorded]);
  return { recorded, consentRequired: [...consentRequired] };
}

/** The acceptances sent with auth.register, recorded with the new user (checked before the user is made). */
export async function recordRegistrationConsents(deps: ConsentDeps, userId: string, appId: string, consents: ConsentInput[]): Promise<void> {
  if (consents.length === 0) return;
  const acceptedAt = deps.now();
  await deps.store.append(
    userId,
    consents.map((c) => ({ document: c.document, version: c.version, acceptedAt, appId })),
  );
}
