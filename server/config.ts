import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { CONSENT_DOCUMENT, CONSENT_VERSION } from '../shared/schemas/consent';
import { dataEncryptionKey } from './secrets/secretBox';
import { ephemeralSigningKeys, jwtKeysSchema, kidOfSecret, signingKeysFrom, type SigningKey } from './tokens/signingKeys';

/**
 * Configuration comes from the environment, is validated once at start and is then read-only.
 * Bad values stop the start with one line per problem, each naming its variable (see ConfigError),
 * all at once: an operator learns every problem from one failed start.
 */
const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
/** A whole number written in decimal digits: rejects ' ', '0x10', '1e3' that Number() would take. */
const integer = (min: number, max: number, fallback: number) =>
  z.preprocess(
    (v) => (v === undefined || v === '' ? String(fallback) : v),
    z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(min).max(max)),
  );
/** A variable holding JSON; `message` says what shape it should have (never echoes the value). */
const jsonText = (message: string) =>
  z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
  });
const seconds = (fallback: number) => integer(0, 31_536_000, fallback);
const flag = z.preprocess(emptyAsUndefined, z.enum(['true', 'false'], 'must be true or false').default('false').transform((v) => v === 'true'));

const envSchema = z
  .object({
    NODE_ENV: z.preprocess(emptyAsUndefined, z.enum(['development', 'production', 'test']).default('development')),
    PORT: integer(0, 65_535, 3000),
    HOST: z.preprocess(emptyAsUndefined, z.string().default('127.0.0.1')),
    MONGODB_URI: z.preprocess(emptyAsUndefined, z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://').optional()),
    /** Development files: the embedded database (by default), the demo's runtime file, the dev keys. */
    DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default('.data')),
    /** Where the embedded database keeps its files when MONGODB_URI is unset (default DATA_DIR/devdb). */
    DEVDB_DIR: optionalString,
    WECHAT_APP_ID: optionalString,
    WECHAT_APP_SECRET: optionalString,
    /** Several mini programs on one backend: a JSON array of {appId, appSecret}; the first is the default. */
    WECHAT_APPS: z.preprocess(
      emptyAsUndefined,
      jsonText('must be a JSON array of {appId, appSecret}')
        .pipe(
          z
            // appSecret may be left out only with WECHAT_OPEN_API_SERVICE (checked below).
            .array(z.object({ appId: z.string().regex(/^\w{4,64}$/, 'appId must be 4-64 letters or digits'), appSecret: z.string().min(1).optional() }))
            .min(1)
            .refine((apps) => new Set(apps.map((a) => a.appId)).size === apps.length, 'lists an appId twice'),
        )
        .optional(),
    ),
    /** stable_token (default: no invalidation race between instances) or the plain cgi-bin/token. */
    WECHAT_TOKEN_MODE: z.preprocess(emptyAsUndefined, z.enum(['stable', 'plain']).default('stable')),
    /** Base of public URLs this server hands out (avatars); unset (development only): the listening address. */
    PUBLIC_BASE_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
    AVATAR_MAX_BYTES: integer(1024, 10_485_760, 1_048_576),
    /** Default https://api.weixin.qq.com; http://api.weixin.qq.com with the open API service. */
    WECHAT_API_BASE_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
    /** WeChat Cloud Hosting: the caller's identity comes from the gateway's X-WX-* headers (server/cloudHosting/). */
    WECHAT_CLOUD_HOSTING: flag,
    /** Cloud Hosting's open API service: server API calls without access_token, the side-loaded proxy adds the credentials. */
    WECHAT_OPEN_API_SERVICE: flag,
    WECHAT_TIMEOUT_MS: integer(100, 60_000, 5000),
    /** Extra attempts after the first on errcode -1 and network failures. */
    WECHAT_RETRIES: integer(0, 5, 2),
    WECHAT_WATERMARK_MAX_AGE_S: seconds(0),
    JWT_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
    /** Several keys with ids, newest first (see server/tokens/signingKeys.ts); replaces JWT_SECRET. */
    JWT_KEYS: z.preprocess(
      emptyAsUndefined,
      jsonText('must be a JSON array of keys')
        .pipe(jwtKeysSchema)
        .refine((keys) => keys.some((k) => k.alg === 'HS256' || k.privateKey), 'has no key that can sign')
        .optional(),
    ),
    JWT_ISSUER: z.preprocess(emptyAsUndefined, z.string().default('wx-login-backend')),
    JWT_AUDIENCE: z.preprocess(emptyAsUndefined, z.string().default('miniprogram')),
    JWT_EXPIRES_IN_S: integer(60, 86_400 * 30, 7200),
    REFRESH_TOKEN_TTL_S: integer(300, 86_400 * 365, 30 * 86_400),
    /** No rotation extends a session (a login) beyond this. */
    SESSION_MAX_AGE_S: integer(300, 86_400 * 730, 90 * 86_400),
    /** How long a verified token's user status and session are trusted before a fresh look. */
    AUTH_CACHE_TTL_S: integer(0, 60, 30),
    RATE_LIMIT_IP_PER_MIN: integer(0, 1_000_000, 120),
    RATE_LIMIT_OPENID_PER_MIN: integer(0, 1_000_000, 20),
    /** Calls per user per minute to the procedures that call WeChat or write (bindPhone, checkSession, updateProfile, recordConsent, avatar upload). */
    RATE_LIMIT_USER_PER_MIN: integer(0, 1_000_000, 30),
    /** user.exportData calls per user per hour (an export reads every collection the user is in). */
    RATE_LIMIT_EXPORT_PER_HOUR: integer(0, 1000, 5),
    /** Where rate limit counters live: this process's memory, or MongoDB (shared by every instance). */
    RATE_LIMIT_STORE: z.preprocess(emptyAsUndefined, z.enum(['memory', 'mongodb']).optional()),
    /** Serve /metrics on a listener of its own (and not on PORT). */
    METRICS_PORT: z.preprocess(emptyAsUndefined, integer(0, 65_535, 0).optional()),
    /** Browser origins (H5 pages) allowed to call /api: exact origins, comma-separated. */
    CORS_ORIGINS: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .transform((text) => text.split(',').map((o) => o.trim()).filter(Boolean))
        .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s*]+$/, 'must list origins such as https://h5.example.com (scheme and host, no path, no *)')))
        .optional(),
    ),
    /** Key (base64 of 32 bytes) that encrypts stored session_keys; derived from JWT_SECRET when unset. */
    DATA_ENCRYPTION_KEY: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of exactly 32 bytes')
        .optional(),
    ),
    /** Cooling-off period of user.deleteAccount (注销冷静期): 0 deletes at once. */
    ACCOUNT_DELETION_DELAY_DAYS: integer(0, 365, 0),
    AUTH_REGISTRATION: z.preprocess(emptyAsUndefined, z.enum(['explicit', 'auto']).default('explicit')),
    /** The current version of each document users accept (privacy policy, terms): a JSON object, name → version. */
    CONSENT_VERSIONS: z.preprocess(
      emptyAsUndefined,
      jsonText('must be a JSON object of document names to their current versions, e.g. {"privacy":"2024-05"}')
        .pipe(
          z.record(
            z.string().regex(CONSENT_DOCUMENT, 'has a document name that is not 1-32 lowercase letters, digits, - or _ starting with a letter'),
            z.string().regex(CONSENT_VERSION, 'has a version that is not 1-64 printable characters'),
            'must be a JSON object of document names to their current versions, e.g. {"privacy":"2024-05"}',
          ),
        )
        .default({}),
    ),
    REGISTRATION_TICKET_TTL_S: integer(30, 3600, 600),
    BODY_LIMIT_BYTES: integer(1024, 10_485_760, 65_536),
    /** Calls in one batched /trpc request; more is refused before any of them runs. */
    TRPC_BATCH_MAX_CALLS: integer(1, 1000, 20),
    /** Time for a request to arrive whole (headers and body); 0 = no limit. */
    HTTP_REQUEST_TIMEOUT_MS: integer(0, 600_000, 30_000),
    /** A connection that sends nothing for this long is closed; 0 = never. */
    HTTP_CONNECTION_TIMEOUT_MS: integer(0, 600_000, 30_000),
    /** Behind a load balancer: 'true', a hop count, or its addresses/CIDRs (comma-separated). */
    TRUST_PROXY: z.preprocess(emptyAsUndefined, z.string().max(1024).optional()),
    LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  });

/** Every variable the server reads (the README's table and .env.example list each). */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape);

type RawEnv = NodeJS.ProcessEnv;
const isSet = (env: RawEnv, name: string) => env[name] !== undefined && env[name] !== '';
const isProduction = (env: RawEnv) => env.NODE_ENV === 'production';

/** True when JWT_KEYS (raw) lists an HS256 key; false when it does not or is malformed (reported on its own). */
function jwtKeysHaveSecret(env: RawEnv): boolean {
  try {
    const keys = JSON.parse(env.JWT_KEYS ?? '') as unknown;
    return Array.isArray(keys) && keys.some((k) => (k as { alg?: unknown } | null)?.alg === 'HS256');
  } catch {
    return false;
  }
}

/** True when WECHAT_APPS (raw) lists an app without an appSecret; false when malformed (reported on its own). */
function wechatAppsLackASecret(env: RawEnv): boolean {
  try {
    const apps = JSON.parse(env.WECHAT_APPS ?? '') as unknown;
    return Array.isArray(apps) && apps.some((a) => !(a as { appSecret?: unknown } | null)?.appSecret);
  } catch {
    return false;
  }
}

/**
 * Rules over several variables, and what production refuses to start without. They read the raw
 * environment, so they are checked even when some value is malformed: one start lists every
 * problem. Add a requirement by appending to this list; `refuses` is true when the problem is there.
 */
export const CONFIG_RULES: { variable: string; message: string; refuses(env: RawEnv): boolean }[] = [
  {
    variable: 'MONGODB_URI',
    message: 'is required when NODE_ENV=production (the embedded database is for development)',
    refuses: (env) => isProduction(env) && !isSet(env, 'MONGODB_URI'),
  },
  {
    variable: 'JWT_SECRET',
    message: 'is required when NODE_ENV=production (or JWT_KEYS)',
    refuses: (env) => isProduction(env) && !isSet(env, 'JWT_SECRET') && !isSet(env, 'JWT_KEYS'),
  },
  {
    variable: 'JWT_KEYS',
    message: 'and JWT_SECRET are exclusive: list the secret in JWT_KEYS',
    refuses: (env) => isSet(env, 'JWT_SECRET') && isSet(env, 'JWT_KEYS'),
  },
  {
    variable: 'DATA_ENCRYPTION_KEY',
    message: 'is required when no HS256 secret is configured',
    refuses: (env) =>
      isProduction(env) && !isSet(env, 'DATA_ENCRYPTION_KEY') && !isSet(env, 'JWT_SECRET') && isSet(env, 'JWT_KEYS') && !jwtKeysHaveSecret(env),
  },
  {
    variable: 'WECHAT_OPEN_API_SERVICE',
    message: 'needs WECHAT_CLOUD_HOSTING=true (the service exists only there)',
    refuses: (env) => env.WECHAT_OPEN_API_SERVICE === 'true' && env.WECHAT_CLOUD_HOSTING !== 'true',
  },
  {
    // With the open API service nothing needs the secret: no code2Session, no access token.
    variable: 'WECHAT_APPS',
    message: 'needs an appSecret for every app (unless WECHAT_OPEN_API_SERVICE=true)',
    refuses: (env) => env.WECHAT_OPEN_API_SERVICE !== 'true' && wechatAppsLackASecret(env),
  },
  {
    variable: 'WECHAT_APP_SECRET',
    message: 'is required when WECHAT_APP_ID is set',
    refuses: (env) => isSet(env, 'WECHAT_APP_ID') && !isSet(env, 'WECHAT_APP_SECRET') && env.WECHAT_OPEN_API_SERVICE !== 'true',
  },
  {
    variable: 'WECHAT_APPS',
    message: 'and WECHAT_APP_ID are exclusive: list every app in WECHAT_APPS',
    refuses: (env) => isSet(env, 'WECHAT_APP_ID') && isSet(env, 'WECHAT_APPS'),
  },
  {
    variable: 'WECHAT_APP_ID',
    message: 'is required when NODE_ENV=production (the simulator is for development)',
    refuses: (env) => isProduction(env) && !isSet(env, 'WECHAT_APP_ID') && !isSet(env, 'WECHAT_APPS'),
  },
  {
    variable: 'PUBLIC_BASE_URL',
    message: 'is required when NODE_ENV=production (avatar URLs are built from it)',
    refuses: (env) => isProduction(env) && !isSet(env, 'PUBLIC_BASE_URL'),
  },
  {
    variable: 'METRICS_PORT',
    message: 'must differ from PORT',
    refuses: (env) => isSet(env, 'METRICS_PORT') && env.METRICS_PORT !== '0' && env.METRICS_PORT === (env.PORT || '3000'),
  },
];

/** Not wrong, but worth a line at start: each names its variable. */
function warningsFor(env: Env): string[] {
  const warnings: string[] = [];
  if (env.NODE_ENV === 'production' && env.TRUST_PROXY === undefined) {
    warnings.push(
      'TRUST_PROXY is unset: the client IP (rate limits, sessions) is the address of the peer; behind a load balancer that is the load balancer for every client',
    );
  }
  return warnings;
}

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  port: number;
  host: string;
  /** Development files (the demo's runtime file, dev keys); nothing is written there in production. */
  dataDir: string;
  /** Unset: start the embedded database. */
  mongodbUri: string | undefined;
  devdbDir: string;
  wechat: {
    /** Empty: start the built-in WeChat simulator (development and tests only). First = default. */
    apps: { appId: string; appSecret: string }[];
    /** WeChat Cloud Hosting: identities from the gateway's headers, no code2Session, no session_key. */
    cloudHosting: boolean;
    /** Server API calls through Cloud Hosting's open API service (no access token here). */
    openApiService: boolean;
    tokenMode: 'stable' | 'plain';
    apiBaseUrl: string;
    timeoutMs: number;
    retries: number;
    watermarkMaxAgeS: number;
  };
  jwt: {
    /** Newest first; the first that can sign signs, all verify. */
    keys: SigningKey[];
    /** True when no key was configured: tokens die with the process. */
    ephemeral: boolean;
    issuer: string;
    audience: string;
    expiresInS: number;
  };
  sessions: {
    refreshTokenTtlS: number;
    maxAgeS: number;
    /** Bound on how long a ban, a deletion or a logout takes to reach access tokens already issued. */
    authCacheTtlS: number;
  };
  rateLimit: { ipPerMinute: number; openIdPerMinute: number; userPerMinute: number; exportPerHour: number; store: 'memory' | 'mongodb' };
  /** Unset: /metrics is served on the public port. */
  metricsPort: number | undefined;
  /** Origins allowed to call /api from a browser; empty: no CORS answers. */
  corsOrigins: string[];
  /** Unset (development and tests only): the server's listening address. Never a request's Host. */
  publicBaseUrl: string | undefined;
  avatarMaxBytes: number;
  /** Encrypts stored session_keys (AES-256-GCM). */
  dataEncryptionKey: Buffer;
  registration: 'explicit' | 'auto';
  /** The current version of each document users accept, by name (empty: no consent is asked for). */
  consentVersions: Readonly<Record<string, string>>;
  registrationTicketTtlS: number;
  /** Days between user.deleteAccount and the deletion; 0: at once. */
  accountDeletionDelayDays: number;
  bodyLimitBytes: number;
  http: {
    /** Most calls in one batched /trpc request. */
    batchMaxCalls: number;
    /** Fastify's requestTimeout: the whole request must arrive within it (0 = off). */
    requestTimeoutMs: number;
    /** Fastify's connectionTimeout: an idle socket is closed after it (0 = off). */
    connectionTimeoutMs: number;
  };
  /** Fastify's trustProxy: which X-Forwarded-For hops to believe for the client IP (rate limits, sessions). */
  trustProxy: boolean | number | string;
  logLevel: Env['LOG_LEVEL'];
  /** Lines to log at start (each names its variable). */
  warnings: string[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Validates the environment. Throws ConfigError whose message has one line per problem, each
 * `Invalid configuration: VARIABLE what is wrong`; values are never echoed (they may be secrets).
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  // The first problem of each variable, bad values first, then the rules over several variables.
  const problems = new Map<string, string>();
  const add = (variable: string, message: string) => problems.has(variable) || problems.set(variable, message);
  for (const issue of parsed.success ? [] : parsed.error.issues) add(String(issue.path[0] ?? 'environment'), issue.message);
  for (const rule of CONFIG_RULES) if (rule.refuses(source)) add(rule.variable, rule.message);
  if (problems.size > 0 || !parsed.success) {
    throw new ConfigError([...problems].map(([variable, message]) => `Invalid configuration: ${variable} ${message}`).join('\n'));
  }
  const env = parsed.data;
  return Object.freeze({
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    dataDir: env.DATA_DIR,
    mongodbUri: env.MONGODB_URI,
    devdbDir: env.DEVDB_DIR ?? join(env.DATA_DIR, 'devdb'),
    wechat: {
      // An empty secret only with the open API service, where nothing sends it.
      apps:
        env.WECHAT_APPS?.map((a) => ({ appId: a.appId, appSecret: a.appSecret ?? '' })) ??
        (env.WECHAT_APP_ID ? [{ appId: env.WECHAT_APP_ID, appSecret: env.WECHAT_APP_SECRET ?? '' }] : []),
      cloudHosting: env.WECHAT_CLOUD_HOSTING,
      openApiService: env.WECHAT_OPEN_API_SERVICE,
      tokenMode: env.WECHAT_TOKEN_MODE,
      apiBaseUrl: (env.WECHAT_API_BASE_URL ?? (env.WECHAT_OPEN_API_SERVICE ? 'http://api.weixin.qq.com' : 'https://api.weixin.qq.com')).replace(/\/+$/, ''),
      timeoutMs: env.WECHAT_TIMEOUT_MS,
      retries: env.WECHAT_RETRIES,
      watermarkMaxAgeS: env.WECHAT_WATERMARK_MAX_AGE_S,
    },
    jwt: {
      keys: jwtKeys(env),
      ephemeral: !env.JWT_SECRET && !env.JWT_KEYS,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      expiresInS: env.JWT_EXPIRES_IN_S,
    },
    sessions: {
      refreshTokenTtlS: env.REFRESH_TOKEN_TTL_S,
      maxAgeS: env.SESSION_MAX_AGE_S,
      authCacheTtlS: env.AUTH_CACHE_TTL_S,
    },
    rateLimit: {
      ipPerMinute: env.RATE_LIMIT_IP_PER_MIN,
      openIdPerMinute: env.RATE_LIMIT_OPENID_PER_MIN,
      userPerMinute: env.RATE_LIMIT_USER_PER_MIN,
      exportPerHour: env.RATE_LIMIT_EXPORT_PER_HOUR,
      // Several instances run in production: counters shared through MongoDB keep the limit exact.
      store: env.RATE_LIMIT_STORE ?? (env.NODE_ENV === 'production' ? 'mongodb' : 'memory'),
    },
    metricsPort: env.METRICS_PORT,
    corsOrigins: env.CORS_ORIGINS ?? [],
    publicBaseUrl: env.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
    avatarMaxBytes: env.AVATAR_MAX_BYTES,
    dataEncryptionKey: resolveDataKey(env),
    registration: env.AUTH_REGISTRATION,
    consentVersions: Object.freeze({ ...env.CONSENT_VERSIONS }),
    registrationTicketTtlS: env.REGISTRATION_TICKET_TTL_S,
    accountDeletionDelayDays: env.ACCOUNT_DELETION_DELAY_DAYS,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    http: {
      batchMaxCalls: env.TRPC_BATCH_MAX_CALLS,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: env.HTTP_CONNECTION_TIMEOUT_MS,
    },
    trustProxy: env.TRUST_PROXY === undefined || env.TRUST_PROXY === 'false' ? false : env.TRUST_PROXY === 'true' ? true : /^\d+$/.test(env.TRUST_PROXY) ? Number(env.TRUST_PROXY) : env.TRUST_PROXY,
    logLevel: env.LOG_LEVEL,
    warnings: warningsFor(env),
  });
}

function jwtKeys(env: Env): SigningKey[] {
  if (env.JWT_KEYS) {
    try {
      return signingKeysFrom(env.JWT_KEYS);
    } catch {
      throw new ConfigError('Invalid configuration: JWT_KEYS has a key that is not a valid PEM key of its alg');
    }
  }
  if (env.JWT_SECRET) return signingKeysFrom([{ kid: kidOfSecret(env.JWT_SECRET), alg: 'HS256', secret: env.JWT_SECRET }]);
  return ephemeralSigningKeys();
}

/** DATA_ENCRYPTION_KEY, else derived from the (first) HS256 secret, else random (development only). */
function resolveDataKey(env: Env): Buffer {
  const secret = env.JWT_SECRET ?? env.JWT_KEYS?.find((k) => k.alg === 'HS256')?.secret;
  if (env.DATA_ENCRYPTION_KEY || secret) return dataEncryptionKey(env.DATA_ENCRYPTION_KEY, secret ?? '');
  return randomBytes(32);
}
