import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig, type Config } from './config';
import type { Logger } from './logger';

/**
 * Development only: the built-in simulator's AppID and secret and a JWT key, generated once and
 * kept in DATA_DIR/dev-state.json (readable by its owner only). Without them every restart made a
 * new app and a new key: every token died and every simulated user came back unregistered,
 * though their data was still in the database.
 */
const devStateSchema = z.object({
  simulatorApp: z.object({ appId: z.string().regex(/^wx[0-9a-f]{16}$/), appSecret: z.string().min(16) }),
  jwtSecret: z.string().min(32),
});
type DevState = z.infer<typeof devStateSchema>;

export const devStatePath = (dataDir: string) => join(dataDir, 'dev-state.json');

/** Reads the kept state, or makes and keeps a new one. Throws when the file cannot be read, parsed or written. */
function loadOrCreate(dataDir: string): { state: DevState; created: boolean } {
  const path = devStatePath(dataDir);
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    const parsed = devStateSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${path} is not a development state file (delete it to start afresh)`);
    return { state: parsed.data, created: false };
  }
  const state: DevState = {
    simulatorApp: { appId: 'wx' + randomBytes(8).toString('hex'), appSecret: randomBytes(16).toString('hex') },
    jwtSecret: randomBytes(32).toString('base64url'),
  };
  mkdirSync(dataDir, { recursive: true });
  // 'wx': two servers started at once in one folder must not each write their own.
  try {
    writeFileSync(path, JSON.stringify(state, null, 2), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreate(dataDir);
    throw err;
  }
  return { state, created: true };
}

/**
 * The configuration with the kept JWT key (when none is configured), and the simulator app to
 * use (when no WeChat app is configured). Never fatal: when the state cannot be kept, the server
 * starts with an ephemeral key and app, as before, and says so.
 */
export function developmentState(config: Config, logger: Logger): { config: Config; simulatorApps?: DevState['simulatorApp'][] } {
  const needsKey = config.jwt.ephemeral;
  const needsApp = config.wechat.apps.length === 0;
  if (!needsKey && !needsApp) return { config };
  let kept: { state: DevState; created: boolean };
  try {
    kept = loadOrCreate(config.dataDir);
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not keep the development keys; tokens and simulated users will not survive a restart');
    return { config };
  }
  logger.info(`development ${[needsKey && 'JWT key', needsApp && 'simulator app'].filter(Boolean).join(' and ')} ${kept.created ? 'created in' : 'from'} ${devStatePath(config.dataDir)}`);
  return {
    // The same environment plus the kept key: the data encryption key is derived from it too,
    // so stored session_keys stay readable across restarts.
    config: needsKey ? loadConfig({ ...process.env, JWT_SECRET: kept.state.jwtSecret }) : config,
    simulatorApps: needsApp ? [kept.state.simulatorApp] : undefined,
  };
}
