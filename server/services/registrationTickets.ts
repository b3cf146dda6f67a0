import { createHash, randomBytes } from 'node:crypto';
import type { Database } from '../db/connection';
import { AppError } from '../errors';
import { claimOnce } from './claims';
import type { SecretBox } from '../secrets/secretBox';
import type { AppSession } from './wechatApps';

/**
 * Registration tickets: opaque random strings handed out with USER_NOT_REGISTERED. The database
 * keeps only their SHA-256 and the WeChat session they stand for (session_key sealed).
 */
export interface TicketDeps {
  db: Database;
  box: SecretBox;
  ttlS: number;
  now: () => Date;
}

const hash = (ticket: string) => createHash('sha256').update(ticket).digest('hex');

export async function issueRegistrationTicket(deps: TicketDeps, session: AppSession): Promise<string> {
  const ticket = `rt_${randomBytes(32).toString('base64url')}`;
  await deps.db.RegistrationTicket.create({
    tokenHash: hash(ticket),
    appId: session.appId,
    openId: session.openId,
    unionId: session.unionId,
    sessionKeyEnc: session.sessionKey === null ? null : deps.box.seal(session.sessionKey),
    expiresAt: new Date(deps.now().getTime() + deps.ttlS * 1000),
  });
  return ticket;
}

const ticketInvalid = () =>
  new AppError('REGISTRATION_TICKET_INVALID', 'The registration ticket is unknown, used or expired; log in again');

/**
 * Reads a live ticket without using it up, so that a registration that fails validation can be
 * retried with the same ticket. `claimRegistrationTicket` then uses it up, once.
 */
export async function peekRegistrationTicket(deps: TicketDeps, ticket: string): Promise<AppSession> {
  const doc = await deps.db.RegistrationTicket.findOne({ tokenHash: hash(ticket), expiresAt: { $gt: deps.now() } }).lean();
  if (!doc) throw ticketInvalid();
  let sessionKey: string | null;
  try {
    sessionKey = doc.sessionKeyEnc == null ? null : deps.box.open(doc.sessionKeyEnc);
  } catch {
    // Sealed under another data key (the key changed since): the ticket is useless.
    throw ticketInvalid();
  }
  return { appId: doc.appId, openId: doc.openId, unionId: doc.unionId ?? null, sessionKey };
}

/** Uses the ticket up; throws when another request used it first. */
export async function claimRegistrationTicket(deps: TicketDeps, ticket: string): Promise<void> {
  const tokenHash = hash(ticket);
  const live = await deps.db.RegistrationTicket.findOne({ tokenHash, expiresAt: { $gt: deps.now() } }, { expiresAt: 1 }).lean();
  // Inserting the claim is what decides between simultaneous uses; the delete only tidies up.
  if (!live || !(await claimOnce(deps.db, `ticket:${tokenHash}`, live.expiresAt))) throw ticketInvalid();
  await deps.db.RegistrationTicket.deleteOne({ tokenHash });
}

/** The periodic cleanup: the embedded database has no TTL indexes. */
export async function deleteExpiredRegistrationTickets(deps: Pick<TicketDeps, 'db' | 'now'>): Promise<number> {
  const { deletedCount } = await deps.db.RegistrationTicket.deleteMany({ expiresAt: { $lte: deps.now() } });
  return deletedCount;
}
