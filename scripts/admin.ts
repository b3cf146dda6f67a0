/**
 * Operator commands against the server's database, through the admin procedures called in
 * process (never over HTTP): `npm run -s admin -- help`.
 *
 * Exit codes: 0 done, 1 the operation failed (e.g. USER_NOT_FOUND), 2 bad arguments or configuration.
 */
import { parseArgs } from 'node:util';
import { TRPCError } from '@trpc/server';
import { createAppServices, type WeChatApp } from '../server/appServices';
import { ConfigError, loadConfig, type Config } from '../server/config';
import { openDatabase, type Database } from '../server/db/connection';
import { isDatabaseUnavailable } from '../server/errors';
import { classifyError } from '../server/errors/classify';
import { createLogger } from '../server/logger';
import { createCaller, createContext } from '../server/root';
import { readRuntimeFile } from '../server/runtimeFile';
import type { AdminListUsersInput } from '../shared';
import { printCounts, printUser, printUsers } from './adminFormat';

const USAGE = `Usage: npm run -s admin -- <command> [options]   (-s: no npm banner on stdout)

Commands:
  users [--status active|banned|deletion_pending] [--app APPID] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
        [--page N] [--page-size N]     users, newest first (dates are UTC days, --to inclusive)
  user <id>                            one user, their openids per app and live sessions
  ban <id>                             ban a user and end all their sessions
  unban <id>                           lift a ban (ended sessions stay ended)
  revoke-sessions <id>                 end all sessions of a user
  delete <id>                          delete a user and everything stored about them, at once
                                       (also one whose deletion is pending)
  export <id>                          everything stored about a user (user.exportData's document), JSON on stdout
  counts                               users, bans, sign-ups in the last 24 h, live sessions, users per app
  help                                 this text

Options:
  --json                               one JSON document on stdout instead of a table

Environment: MONGODB_URI (the server's database; unset: the embedded database of the development
server running in DATA_DIR) and the server's other variables.`;

/** Bad arguments or configuration: one line on stderr, exit 2. */
class UsageError extends Error {}

const OPTIONS = {
  status: { type: 'string' },
  app: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  page: { type: 'string' },
  'page-size': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
const LIST_OPTIONS = ['status', 'app', 'from', 'to', 'page', 'page-size'] as const;
const ID_COMMANDS = ['user', 'ban', 'unban', 'revoke-sessions', 'delete', 'export'];
const COMMANDS = ['users', 'counts', 'help', ...ID_COMMANDS];

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

interface Command {
  name: string;
  id?: string;
  list?: AdminListUsersInput;
  json: boolean;
}

function parseCommand(args: string[]): Command {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    // node's message goes on with advice about '--'; its first sentence says it all.
    throw new UsageError((err as Error).message.split(/\.\s/)[0]!.replace(/\.$/, ''));
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.help || name === 'help') return { name: 'help', json: false };
  if (!name) throw new UsageError('no command given');
  if (!COMMANDS.includes(name)) throw new UsageError(`unknown command '${name}'`);
  const json = values.json === true;

  const listFlags = LIST_OPTIONS.filter((o) => values[o] !== undefined);
  if (name !== 'users' && listFlags.length > 0) throw new UsageError(`--${listFlags[0]} is only for the users command`);

  if (ID_COMMANDS.includes(name)) {
    if (rest.length !== 1) throw new UsageError(`${name} takes exactly one user id`);
    const id = rest[0]!;
    if (!/^[0-9a-f]{24}$/i.test(id)) throw new UsageError(`'${id}' is not a user id (24 hex digits)`);
    return { name, id, json };
  }
  if (rest.length > 0) throw new UsageError(`${name} takes no arguments, got '${rest[0]}'`);
  if (name !== 'users') return { name, json };

  const status = values.status;
  if (status !== undefined && status !== 'active' && status !== 'banned' && status !== 'deletion_pending') {
    throw new UsageError(`--status must be active, banned or deletion_pending, got '${status}'`);
  }
  if (values.app !== undefined && !/^[\w-]{1,64}$/.test(values.app)) throw new UsageError(`--app must be an appid, got '${values.app}'`);
  const to = values.to === undefined ? undefined : day('--to', values.to);
  return {
    name,
    json,
    list: {
      status,
      appId: values.app,
      createdFrom: values.from === undefined ? undefined : day('--from', values.from),
      // --to names a whole day: everything created before the next one.
      createdTo: to && new Date(to.getTime() + 86_400_000),
      page: values.page === undefined ? undefined : whole('--page', values.page, 1, 1_000_000),
      pageSize: values['page-size'] === undefined ? undefined : whole('--page-size', values['page-size'], 1, 100),
    },
  };
}

/** YYYY-MM-DD as the start of that UTC day; rejects impossible dates such as 2024-02-30. */
function day(flag: string, text: string): Date {
  const date = new Date(`${text}T00:00:00.000Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== text) {
    throw new UsageError(`${flag} must be a date as YYYY-MM-DD, got '${text}'`);
  }
  return date;
}

function whole(flag: string, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got '${text}'`);
  return n;
}

/** `mongodb://host/db?...`: the database named in the URI, if any (as server/backend.ts reads it). */
const DB_IN_URI = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/;

function loadSettings(): Config & { mongodbUri: string } {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  // Without MONGODB_URI, in development: the embedded database of the server running in DATA_DIR.
  const mongodbUri = config.mongodbUri ?? (config.env === 'development' ? readRuntimeFile(config.dataDir)?.databaseUri : undefined) ?? undefined;
  if (!mongodbUri) {
    throw new UsageError(
      `MONGODB_URI is not set and no development server with an embedded database is running in ${config.dataDir}: set MONGODB_URI to the database the server uses, e.g. MONGODB_URI=mongodb://127.0.0.1:27017/wx_login`,
    );
  }
  return { ...config, mongodbUri };
}

async function run(command: Command, db: Database, config: Config): Promise<void> {
  // Admin commands never call WeChat, but the services want at least one app to be built.
  const wechatApps: WeChatApp[] = config.wechat.apps.length
    ? config.wechat.apps.map((a) => ({ ...a, apiBaseUrl: config.wechat.apiBaseUrl }))
    : [{ appId: 'admin-cli', appSecret: '-', apiBaseUrl: config.wechat.apiBaseUrl }];
  const services = createAppServices({ config, wechatApps, db, logger: createLogger('silent') });
  // Avatar URLs (in an export) start with PUBLIC_BASE_URL; without it (development), with the
  // running development server's address, else the one it would listen on.
  if (!config.publicBaseUrl) services.avatarUrls.listeningAt(readRuntimeFile(config.dataDir)?.url ?? `http://${config.host}:${config.port}`);
  const admin = createCaller(createContext({ services, admin: true })).admin;
  const out = (value: unknown, print: () => void) => (command.json ? console.log(JSON.stringify(value, null, 2)) : print());
  const id = command.id!;

  switch (command.name) {
    case 'users': {
      const result = await admin.listUsers(command.list ?? {});
      return out(result, () => printUsers(result));
    }
    case 'user': {
      const user = await admin.getUser({ id });
      return out(user, () => printUser(user));
    }
    case 'ban': {
      const user = await admin.banUser({ id });
      return out(user, () => console.log(`banned user ${user.id} (${user.openId}); their sessions have ended`));
    }
    case 'unban': {
      const user = await admin.unbanUser({ id });
      return out(user, () => console.log(`unbanned user ${user.id} (${user.openId}); they can log in again`));
    }
    case 'revoke-sessions': {
      const result = await admin.revokeSessions({ id });
      return out(result, () => console.log(`ended ${result.revokedSessions} session(s) of user ${id}`));
    }
    case 'delete': {
      const result = await admin.deleteUser({ id });
      return out(result, () => console.log(`deleted user ${id} and everything stored about them; their tokens are refused`));
    }
    case 'export': {
      // A document to keep or hand over: JSON whatever --json says.
      console.log(JSON.stringify(await admin.exportUser({ id }), null, 2));
      return;
    }
    case 'counts': {
      const result = await admin.counts();
      return out(result, () => printCounts(result));
    }
  }
}

/** One line for a failed operation: its reason and message, never a stack. */
function failureLine(err: unknown): string {
  if (err instanceof TRPCError) {
    const { reason, data } = classifyError(err);
    const message = data.issues ? data.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ') : err.message;
    return `error: ${reason}: ${message.replace(/\s+/g, ' ')}`;
  }
  if (isDatabaseUnavailable(err)) return 'error: SERVICE_UNAVAILABLE: cannot reach the database at MONGODB_URI';
  return `error: INTERNAL: ${err instanceof Error ? err.message.replace(/\s+/g, ' ') : String(err)}`;
}

async function main(args: string[]): Promise<number> {
  let command: Command;
  let config: Config & { mongodbUri: string };
  try {
    command = parseCommand(args);
    if (command.name === 'help') {
      console.log(USAGE);
      return 0;
    }
    config = loadSettings();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`error: ${err.message} (see: npm run -s admin -- help)`);
    return 2;
  }

  let db: Database | undefined;
  try {
    db = await openDatabase(config.mongodbUri, { dbName: DB_IN_URI.test(config.mongodbUri) ? undefined : 'wx_login' });
    await run(command, db, config);
    return 0;
  } catch (err) {
    console.error(failureLine(err));
    return 1;
  } finally {
    await db?.close().catch(() => undefined);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(failureLine(err));
    process.exitCode = 1;
  },
);
