import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { startBackend } from './backend';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';

/** Where `npm start` tells the demo command how to reach it and its simulator. */
export const RUNTIME_FILE = '.data/runtime.json';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const backend = await startBackend({ config, logger });

  mkdirSync(dirname(RUNTIME_FILE), { recursive: true });
  writeFileSync(RUNTIME_FILE, JSON.stringify({ url: backend.url, simulatorUrl: backend.simulator?.url ?? null }, null, 2));
  process.stderr.write(
    `\nwx-login-backend is up\n  tRPC:     ${backend.url}/trpc\n  health:   ${backend.url}/healthz\n` +
      `  WeChat:   ${backend.simulator ? `built-in simulator at ${backend.simulator.url}` : `${backend.wechatApps.map((a) => a.appId).join(', ')} at ${backend.wechatApps[0]!.apiBaseUrl}`}\n` +
      `  database: ${backend.embeddedDatabase ? backend.embeddedDatabase.description : 'MONGODB_URI'}\n` +
      `Try it: npm run demo    Stop: Ctrl-C\n\n`,
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    backend.stop().then(() => {
      rmSync(RUNTIME_FILE, { force: true });
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  // One line, no stack: start-up failures are configuration or environment problems.
  console.error(`wx-login-backend failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
