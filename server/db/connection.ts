import mongoose, { type Connection } from 'mongoose';
import { userModel, type UserModel } from './models/user';
import { registrationTicketModel, type RegistrationTicketModel } from './models/registrationTicket';
import { sessionModel, type SessionModel } from './models/session';
import { identityModel, type IdentityModel } from './models/identity';
import { phoneBindingModel, type PhoneBindingModel } from './models/phoneBinding';
import { claimModel, type ClaimModel } from './models/claim';
import { sessionRefModel, type SessionRefModel } from './models/sessionRef';
import { legacyRefreshTokenModel, type LegacyRefreshTokenModel } from './models/legacyRefreshToken';
import { consentModel, type ConsentModel } from './models/consent';
import { wechatAccessTokenLeaseModel, wechatAccessTokenModel } from './models/wechatAccessToken';
import { installClosedSocketWriteFix } from '../infra/driver/closedSocketWrites';
import { initDefinedModels } from './defineModel';

/** How long opening the database, and each operation, waits for a server before failing. */
export const SERVER_SELECTION_TIMEOUT_MS = 5000;

export interface Database {
  connection: Connection;
  User: UserModel;
  RegistrationTicket: RegistrationTicketModel;
  Session: SessionModel;
  Identity: IdentityModel;
  PhoneBinding: PhoneBindingModel;
  Claim: ClaimModel;
  SessionRef: SessionRefModel;
  LegacyRefreshToken: LegacyRefreshTokenModel;
  Consent: ConsentModel;
  /** True when the database answers a ping within a second. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Opens a connection of its own (not mongoose's global one) so that tests and scripts can hold
 * several, and builds the indexes the models declare (the unique openId index is what makes
 * simultaneous first logins create one user), the core's and those modules defined (defineModel).
 */
export async function openDatabase(uri: string, opts: { dbName?: string } = {}): Promise<Database> {
  // Without it, about 4 in 10 database restarts leave the driver's server monitor waiting forever
  // on a write to a closed socket, and the process never reconnects (see closedSocketWrites.ts).
  installClosedSocketWriteFix();
  const connection = mongoose.createConnection(uri, {
    dbName: opts.dbName,
    serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS,
    // Fail fast while the database is gone instead of queueing work behind a dead connection.
    bufferCommands: false,
    maxPoolSize: 20,
  });
  await connection.asPromise();
  const User = userModel(connection);
  const RegistrationTicket = registrationTicketModel(connection);
  const Session = sessionModel(connection);
  const Identity = identityModel(connection);
  const PhoneBinding = phoneBindingModel(connection);
  const Claim = claimModel(connection);
  const SessionRef = sessionRefModel(connection);
  const LegacyRefreshToken = legacyRefreshTokenModel(connection);
  const Consent = consentModel(connection);
  await Promise.all([
    User.init(),
    RegistrationTicket.init(),
    Session.init(),
    Identity.init(),
    PhoneBinding.init(),
    Claim.init(),
    SessionRef.init(),
    LegacyRefreshToken.init(),
    Consent.init(),
    wechatAccessTokenModel(connection).init(),
    wechatAccessTokenLeaseModel(connection).init(),
  ]);
  // The modules' own models (defineModel), after the core's: a module cannot take a core name.
  await initDefinedModels(connection);

  return {
    connection,
    User,
    RegistrationTicket,
    Session,
    Identity,
    PhoneBinding,
    Claim,
    SessionRef,
    LegacyRefreshToken,
    Consent,
    async ping() {
      try {
        const db = connection.db;
        if (!db) return false;
        await Promise.race([
          db.admin().ping(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('ping timeout')), 1000).unref()),
        ]);
        return true;
      } catch {
        return false;
      }
    },
    close: () => connection.close(),
  };
}
