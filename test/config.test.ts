import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../server/config';

const GOOD_SECRET = 'a-jwt-secret-that-is-long-enough-0123456789';

/** Loads, demands a ConfigError, and returns its message. */
function configError(env: NodeJS.ProcessEnv): string {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ConfigError for ${JSON.stringify(Object.keys(env))}`).toBeInstanceOf(ConfigError);
  const message = (caught as ConfigError).message;
  expect(message).not.toMatch(/[\r\n]/);
  expect(message.length).toBeLessThan(300);
  return message;
}

/** Loads, demands a ConfigError, and returns its lines: one per problem, each naming its variable. */
function configErrors(env: NodeJS.ProcessEnv): string[] {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const lines = (caught as ConfigError).message.split('\n');
  for (const line of lines) expect(line).toMatch(/^Invalid configuration: [A-Z_]+ /);
  return lines;
}
const variableOf = (line: string) => /^Invalid configuration: ([A-Z_]+) /.exec(line)![1];

const PRODUCTION = {
  NODE_ENV: 'production',
  MONGODB_URI: 'mongodb://db.internal:27017/wx',
  JWT_SECRET: GOOD_SECRET,
  WECHAT_APP_ID: 'wx1',
  WECHAT_APP_SECRET: 's',
  PUBLIC_BASE_URL: 'https://api.example.com',
  TRUST_PROXY: '1',
};

describe('loadConfig defaults', () => {
  it('starts from an empty environment with development defaults', () => {
    const config = loadConfig({});
    expect(config.env).toBe('development');
    expect(config.port).toBe(3000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.registration).toBe('explicit');
    expect(config.mongodbUri).toBeUndefined();
    expect(config.wechat).toMatchObject({
      apps: [], // no app: the built-in simulator
      tokenMode: 'stable',
      apiBaseUrl: 'https://api.weixin.qq.com',
      timeoutMs: 5000,
      retries: 2,
      watermarkMaxAgeS: 0,
    });
    expect(config.jwt).toMatchObject({ issuer: 'wx-login-backend', audience: 'miniprogram', expiresInS: 7200 });
    expect(config.dataEncryptionKey).toHaveLength(32); // random: stored session_keys die with the process in development
    expect(config.sessions).toEqual({ refreshTokenTtlS: 30 * 86_400, maxAgeS: 90 * 86_400, authCacheTtlS: 30 });
    expect(config.rateLimit).toEqual({ ipPerMinute: 120, openIdPerMinute: 20, userPerMinute: 30, exportPerHour: 5, store: 'memory' });
    expect(config.consentVersions).toEqual({}); // no consent is asked for
  });

  it('treats empty strings as unset', () => {
    const config = loadConfig({ PORT: '', AUTH_REGISTRATION: '', WECHAT_API_BASE_URL: '', JWT_SECRET: '', MONGODB_URI: '' });
    expect(config.port).toBe(3000);
    expect(config.registration).toBe('explicit');
    expect(config.wechat.apiBaseUrl).toBe('https://api.weixin.qq.com');
    expect(config.jwt.ephemeral).toBe(true);
    expect(config.mongodbUri).toBeUndefined();
  });

  it('reads given values', () => {
    const config = loadConfig({
      PORT: '8080',
      AUTH_REGISTRATION: 'auto',
      MONGODB_URI: 'mongodb+srv://cluster.example.com/app',
      WECHAT_APP_ID: 'wx1234567890abcdef',
      WECHAT_APP_SECRET: 'app-secret',
      WECHAT_API_BASE_URL: 'http://127.0.0.1:4010//',
      WECHAT_WATERMARK_MAX_AGE_S: '600',
    });
    expect(config.port).toBe(8080);
    expect(config.registration).toBe('auto');
    expect(config.mongodbUri).toBe('mongodb+srv://cluster.example.com/app');
    expect(config.wechat.apps).toEqual([{ appId: 'wx1234567890abcdef', appSecret: 'app-secret' }]);
    expect(config.wechat.apiBaseUrl).toBe('http://127.0.0.1:4010');
    expect(config.wechat.watermarkMaxAgeS).toBe(600);
  });
});

describe('loadConfig rejects bad values with one line naming the variable', () => {
  const cases: Array<[string, NodeJS.ProcessEnv, string]> = [
    ['PORT=abc', { PORT: 'abc' }, 'PORT'],
    ['PORT=70000', { PORT: '70000' }, 'PORT'],
    ['PORT=-1', { PORT: '-1' }, 'PORT'],
    ['PORT=80.5', { PORT: '80.5' }, 'PORT'],
    ['PORT=" " (a blank is not 0)', { PORT: ' ' }, 'PORT'],
    ['PORT=0x10 (hex is not decimal)', { PORT: '0x10' }, 'PORT'],
    ['AUTH_REGISTRATION=maybe', { AUTH_REGISTRATION: 'maybe' }, 'AUTH_REGISTRATION'],
    ['MONGODB_URI=http://x', { MONGODB_URI: 'http://x' }, 'MONGODB_URI'],
    ['WECHAT_API_BASE_URL=notaurl', { WECHAT_API_BASE_URL: 'notaurl' }, 'WECHAT_API_BASE_URL'],
    ['WECHAT_API_BASE_URL=ftp://x', { WECHAT_API_BASE_URL: 'ftp://example.com' }, 'WECHAT_API_BASE_URL'],
    ['JWT_SECRET too short', { JWT_SECRET: 'shortsecret' }, 'JWT_SECRET'],
    ['NODE_ENV=production without JWT_SECRET', { ...PRODUCTION, JWT_SECRET: undefined }, 'JWT_SECRET'],
    ['NODE_ENV=staging', { NODE_ENV: 'staging' }, 'NODE_ENV'],
    ['WECHAT_APP_ID without WECHAT_APP_SECRET', { WECHAT_APP_ID: 'wx1234567890abcdef' }, 'WECHAT_APP_SECRET'],
    ['NODE_ENV=production without WECHAT_APP_ID', { ...PRODUCTION, WECHAT_APP_ID: undefined, WECHAT_APP_SECRET: undefined }, 'WECHAT_APP_ID'],
    ['NODE_ENV=production without MONGODB_URI', { ...PRODUCTION, MONGODB_URI: undefined }, 'MONGODB_URI'],
    // Avatar URLs are built from it; the request's Host header is no substitute.
    ['NODE_ENV=production without PUBLIC_BASE_URL', { ...PRODUCTION, PUBLIC_BASE_URL: undefined }, 'PUBLIC_BASE_URL'],
    ['DATA_ENCRYPTION_KEY of 16 bytes', { DATA_ENCRYPTION_KEY: Buffer.alloc(16, 7).toString('base64') }, 'DATA_ENCRYPTION_KEY'],
    ['WECHAT_RETRIES=9', { WECHAT_RETRIES: '9' }, 'WECHAT_RETRIES'],
    ['WECHAT_WATERMARK_MAX_AGE_S=-5', { WECHAT_WATERMARK_MAX_AGE_S: '-5' }, 'WECHAT_WATERMARK_MAX_AGE_S'],
  ];

  it.each(cases)('%s', (_label, env, variable) => {
    const message = configError(env);
    expect(message).toMatch(new RegExp(`\\b${variable}\\b`));
    expect(message).toMatch(/^Invalid configuration: /);
  });

  it('names JWT_SECRET when production has none, and WECHAT_APP_ID in the message about a missing secret', () => {
    expect(configError({ ...PRODUCTION, JWT_SECRET: undefined })).toMatch(/JWT_SECRET.*NODE_ENV=production/);
    expect(configError({ WECHAT_APP_ID: 'wx1' })).toMatch(/WECHAT_APP_SECRET.*WECHAT_APP_ID/);
  });

  it('never echoes a bad secret value', () => {
    const message = configError({ JWT_SECRET: 'shortsecret' });
    expect(message).not.toContain('shortsecret');
    expect(message).toMatch(/32/);
    const dek = Buffer.alloc(16, 9).toString('base64');
    expect(configError({ DATA_ENCRYPTION_KEY: dek })).not.toContain(dek);
    const uri = 'http://user:hunter2-password@db.example.com';
    const uriMessage = configError({ MONGODB_URI: uri });
    expect(uriMessage).not.toContain('hunter2-password');
  });
});

describe('loadConfig JWT keys', () => {
  it('makes an ephemeral random key when neither JWT_SECRET nor JWT_KEYS is set', () => {
    const a = loadConfig({});
    const b = loadConfig({});
    expect(a.jwt.ephemeral).toBe(true);
    expect(a.jwt.keys).toHaveLength(1);
    expect(a.jwt.keys[0]!.alg).toBe('HS256');
    const secretOf = (c: typeof a) => c.jwt.keys[0]!.signKey!.export().toString('utf8');
    expect(secretOf(a).length).toBeGreaterThanOrEqual(32);
    expect(secretOf(a)).not.toBe(secretOf(b));
  });

  it('uses a given JWT_SECRET as is, under a kid derived from it (the same on every instance)', () => {
    const a = loadConfig({ JWT_SECRET: GOOD_SECRET });
    const b = loadConfig({ JWT_SECRET: GOOD_SECRET });
    expect(a.jwt.ephemeral).toBe(false);
    expect(a.jwt.keys[0]!.alg).toBe('HS256');
    expect(a.jwt.keys[0]!.signKey!.export().toString('utf8')).toBe(GOOD_SECRET);
    expect(a.jwt.keys[0]!.kid).toBe(b.jwt.keys[0]!.kid);
    expect(a.jwt.keys[0]!.kid).not.toContain(GOOD_SECRET.slice(0, 8));
  });

  it('accepts production with a secret, an app and its public URL', () => {
    const config = loadConfig(PRODUCTION);
    expect(config.env).toBe('production');
    expect(config.jwt.ephemeral).toBe(false);
  });

  it('reads JWT_KEYS, newest first, HS256 and ES256', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const config = loadConfig({
      JWT_KEYS: JSON.stringify([
        { kid: 'ec-2026', alg: 'ES256', privateKey: pem },
        { kid: 'hs-old', alg: 'HS256', secret: GOOD_SECRET },
      ]),
    });
    expect(config.jwt.keys.map((k) => [k.kid, k.alg])).toEqual([['ec-2026', 'ES256'], ['hs-old', 'HS256']]);
    expect(config.jwt.keys[0]!.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: 'ec-2026', use: 'sig' });
    expect(JSON.stringify(config.jwt.keys[0]!.publicJwk)).not.toContain('"d"');
  });

  it.each([
    ['not JSON', 'nope', /JWT_KEYS must be a JSON array/],
    ['an empty list', '[]', /JWT_KEYS/],
    ['a short HS256 secret', JSON.stringify([{ kid: 'a', alg: 'HS256', secret: 'short' }]), /JWT_KEYS/],
    ['an unknown alg', JSON.stringify([{ kid: 'a', alg: 'none' }]), /JWT_KEYS/],
    ['a bad PEM', JSON.stringify([{ kid: 'a', alg: 'ES256', privateKey: 'garbage' }]), /JWT_KEYS .*PEM/],
    ['only public keys', JSON.stringify([{ kid: 'a', alg: 'ES256', publicKey: 'x' }]), /JWT_KEYS has no key that can sign/],
  ])('rejects JWT_KEYS with %s, naming it and not echoing secrets', (_what, value, message) => {
    const text = configError({ JWT_KEYS: value });
    expect(text).toMatch(message);
    expect(text).not.toContain('short');
  });

  it('reads WECHAT_APPS and refuses a bad list or one mixed with WECHAT_APP_ID', () => {
    const apps = [{ appId: 'wxaaaa1111', appSecret: 's1' }, { appId: 'wxbbbb2222', appSecret: 's2' }];
    expect(loadConfig({ WECHAT_APPS: JSON.stringify(apps) }).wechat.apps).toEqual(apps);
    expect(configError({ WECHAT_APPS: 'nope' })).toMatch(/WECHAT_APPS must be a JSON array/);
    expect(configError({ WECHAT_APPS: JSON.stringify([apps[0], apps[0]]) })).toMatch(/WECHAT_APPS lists an appId twice/);
    expect(configError({ WECHAT_APPS: JSON.stringify(apps), WECHAT_APP_ID: 'wx1', WECHAT_APP_SECRET: 's' })).toMatch(/WECHAT_APPS/);
  });

  it('refuses JWT_SECRET and JWT_KEYS together', () => {
    expect(configError({ JWT_SECRET: GOOD_SECRET, JWT_KEYS: JSON.stringify([{ kid: 'a', alg: 'HS256', secret: GOOD_SECRET }]) })).toMatch(/JWT_KEYS/);
  });
});

describe('loadConfig: the HTTP edge', () => {
  it('defaults: 20 calls a batch, 30 s to send a request, 30 s of silence before a connection is closed', () => {
    expect(loadConfig({}).http).toEqual({ batchMaxCalls: 20, requestTimeoutMs: 30_000, connectionTimeoutMs: 30_000 });
  });

  it('reads given values, 0 turning a timeout off', () => {
    const config = loadConfig({ TRPC_BATCH_MAX_CALLS: '5', HTTP_REQUEST_TIMEOUT_MS: '0', HTTP_CONNECTION_TIMEOUT_MS: '120000', RATE_LIMIT_USER_PER_MIN: '0' });
    expect(config.http).toEqual({ batchMaxCalls: 5, requestTimeoutMs: 0, connectionTimeoutMs: 120_000 });
    expect(config.rateLimit.userPerMinute).toBe(0);
  });

  it.each([
    ['TRPC_BATCH_MAX_CALLS', '0'],
    ['TRPC_BATCH_MAX_CALLS', 'many'],
    ['HTTP_REQUEST_TIMEOUT_MS', '-1'],
    ['HTTP_CONNECTION_TIMEOUT_MS', '1e3'],
    ['RATE_LIMIT_USER_PER_MIN', 'x'],
  ])('refuses %s=%s, naming it', (variable, value) => {
    expect(configError({ [variable]: value })).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
  });
});

describe('production refusals', () => {
  it('lists every problem of a production start at once, one line each naming its variable', () => {
    expect(configErrors({ NODE_ENV: 'production' }).map(variableOf)).toEqual(['MONGODB_URI', 'JWT_SECRET', 'WECHAT_APP_ID', 'PUBLIC_BASE_URL']);
  });

  it('lists bad values and missing production settings together', () => {
    const lines = configErrors({ NODE_ENV: 'production', PORT: 'abc', JWT_SECRET: 'shortsecret', WECHAT_APP_ID: 'wx1' });
    expect(lines.map(variableOf)).toEqual(['PORT', 'JWT_SECRET', 'MONGODB_URI', 'WECHAT_APP_SECRET', 'PUBLIC_BASE_URL']);
    expect(lines.join('\n')).not.toContain('shortsecret');
  });

  it('names MONGODB_URI as required, and why', () => {
    expect(configError({ ...PRODUCTION, MONGODB_URI: '' })).toBe(
      'Invalid configuration: MONGODB_URI is required when NODE_ENV=production (the embedded database is for development)',
    );
  });

  it('warns, without refusing, when production has no TRUST_PROXY', () => {
    expect(loadConfig(PRODUCTION).warnings).toEqual([]);
    expect(loadConfig({ ...PRODUCTION, TRUST_PROXY: undefined }).warnings).toEqual([expect.stringMatching(/^TRUST_PROXY is unset/)]);
    expect(loadConfig({}).warnings).toEqual([]);
  });
});

describe('operator settings', () => {
  it('keeps rate limit counters in MongoDB in production and in memory elsewhere, unless told', () => {
    expect(loadConfig(PRODUCTION).rateLimit.store).toBe('mongodb');
    expect(loadConfig({}).rateLimit.store).toBe('memory');
    expect(loadConfig({ RATE_LIMIT_STORE: 'mongodb' }).rateLimit.store).toBe('mongodb');
    expect(loadConfig({ ...PRODUCTION, RATE_LIMIT_STORE: 'memory' }).rateLimit.store).toBe('memory');
    expect(configError({ RATE_LIMIT_STORE: 'redis' })).toMatch(/^Invalid configuration: RATE_LIMIT_STORE /);
  });

  it('reads METRICS_PORT (unset: /metrics on the public port)', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9464' }).metricsPort).toBe(9464);
    expect(configError({ METRICS_PORT: 'x' })).toMatch(/^Invalid configuration: METRICS_PORT /);
    expect(configError({ PORT: '9000', METRICS_PORT: '9000' })).toMatch(/^Invalid configuration: METRICS_PORT .*PORT/);
  });

  it('reads CORS_ORIGINS as exact origins and refuses anything else', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://h5.example.com, http://localhost:5173' }).corsOrigins).toEqual([
      'https://h5.example.com',
      'http://localhost:5173',
    ]);
    for (const bad of ['*', 'h5.example.com', 'https://h5.example.com/app', 'ftp://x.example.com']) {
      expect(configError({ CORS_ORIGINS: bad })).toMatch(/^Invalid configuration: CORS_ORIGINS /);
    }
  });

  it('reads CONSENT_VERSIONS as document → current version, and refuses anything else naming it', () => {
    expect(loadConfig({ CONSENT_VERSIONS: '{"privacy":"2024-05","terms":"v3 final"}' }).consentVersions).toEqual({ privacy: '2024-05', terms: 'v3 final' });
    expect(loadConfig({ CONSENT_VERSIONS: '{}' }).consentVersions).toEqual({});
    expect(Object.isFrozen(loadConfig({ CONSENT_VERSIONS: '{"privacy":"1"}' }).consentVersions)).toBe(true);
    for (const bad of ['privacy=2024-05', '["privacy"]', '{"privacy":5}', '{"Privacy":"1"}', '{"":"1"}', '{"privacy":""}', '{"privacy":" 1"}', 'null']) {
      expect(configError({ CONSENT_VERSIONS: bad }), bad).toMatch(/^Invalid configuration: CONSENT_VERSIONS /);
    }
    expect(configError({ CONSENT_VERSIONS: 'nope' })).toMatch(/e\.g\. \{"privacy":"2024-05"\}/);
  });

  it('reads RATE_LIMIT_EXPORT_PER_HOUR (0 = off)', () => {
    expect(loadConfig({ RATE_LIMIT_EXPORT_PER_HOUR: '0' }).rateLimit.exportPerHour).toBe(0);
    expect(loadConfig({ RATE_LIMIT_EXPORT_PER_HOUR: '12' }).rateLimit.exportPerHour).toBe(12);
    expect(configError({ RATE_LIMIT_EXPORT_PER_HOUR: '-1' })).toMatch(/^Invalid configuration: RATE_LIMIT_EXPORT_PER_HOUR /);
  });

  it('keeps development files under DATA_DIR', () => {
    expect(loadConfig({}).dataDir).toBe('.data');
    expect(loadConfig({}).devdbDir).toBe('.data/devdb');
    expect(loadConfig({ DATA_DIR: '/var/tmp/wx' }).devdbDir).toBe('/var/tmp/wx/devdb');
    expect(loadConfig({ DATA_DIR: '/var/tmp/wx', DEVDB_DIR: '/srv/db' }).devdbDir).toBe('/srv/db');
  });
});

describe('.env.example', () => {
  const text = readFileSync(resolve(import.meta.dirname, '..', '.env.example'), 'utf8');
  const listed = [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);

  it('lists every variable the server reads, once, and nothing else', () => {
    expect([...listed].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('is a valid production configuration once its placeholders are filled in', () => {
    const env = Object.fromEntries([...text.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    const config = loadConfig(env);
    expect(config.env).toBe('production');
    expect(config.rateLimit.store).toBe('mongodb');
    expect(config.warnings).toEqual([]);
  });
});
