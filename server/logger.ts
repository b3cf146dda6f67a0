import { pino, type Logger, type DestinationStream } from 'pino';

/**
 * Structured JSON logs. Secrets are redacted by path wherever they might be nested, so a log
 * call that passes a whole object by mistake still cannot print one.
 */
const SECRET_KEYS = [
  'session_key',
  'sessionKey',
  'sessionKeyEnc',
  'secret',
  'appSecret',
  'app_secret',
  'JWT_SECRET',
  'password',
  'accessToken',
  'access_token',
  'refreshToken',
  'registrationTicket',
  'encryptedData',
  'signature',
  'authorization',
  'js_code',
  'code',
];

export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'wx-login-backend' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
