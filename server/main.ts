import { startBackend } from './backend';
import { ConfigError, loadConfig, type Config } from './config';
import { developmentState } from './devState';
import { createLogger, type Logger } from './logger';
import { removeRuntimeFile, writeRuntimeFile } from './runtimeFile';

/** How long a shutdown may take before the process gives up waiting and exits 1. */
const SHUTDOWN_LIMIT_MS = 10_000;

function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // One line per problem, each naming its variable: every problem from one failed start.
    console.error(err.message);
    process.exit(1);
  }
}

/** Development helpers are conveniences: a failure to write them is a warning, never a failed start. */
function tryDevelopmentHelper(logger: Logger, what: string, write: () => void) {
  try {
    write();
  } catch (err) {
    logger.warn({ err: (err as Error).message }, `could not ${what}; carrying on without it`);
  }
}

async function main() {
  const envConfig = loadConfigOrExit();
  const logger = createLogger(envConfig.logLevel);
  for (const warning of envConfig.warnings) logger.warn(warning);
  const development = envConfig.env === 'development';

  // In development, the simulator's app and the JWT key are kept in DATA_DIR: a restart keeps
  // users, sessions and tokens. Nothing is written to the working directory in production.
  const dev = development ? developmentState(envConfig, logger) : undefined;
  const config = dev?.config ?? envConfig;
  const backend = await startBackend({ config, logger, simulatorApps: dev?.simulatorApps });

  if (development) {
    tryDevelopmentHelper(logger, 'write the runtime file for npm run demo and npm run admin', () =>
      writeRuntimeFile(config.dataDir, {
        url: backend.url,
        simulatorUrl: backend.simulator?.url ?? null,
        databaseUri: backend.embeddedDatabase?.uri ?? null,
      }),
    );
  }
  process.stderr.write(
    `\nwx-login-backend is up\n  tRPC:     ${backend.url}/trpc\n  health:   ${backend.url}/healthz\n` +
      `  WeChat:   ${backend.simulator ? `built-in simulator at ${backend.simulator.url}` : `${backend.wechatApps.map((a) => a.appId).join(', ')} at ${backend.wechatApps[0]!.apiBaseUrl}`}\n` +
      `  database: ${backend.embeddedDatabase ? backend.embeddedDatabase.description : 'MONGODB_URI'}\n` +
      (development ? `Try it: npm run demo    Stop: Ctrl-C\n\n` : '\n'),
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error(`shutdown took longer than ${SHUTDOWN_LIMIT_MS / 1000} s; exiting`);
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    force.unref();
    // Stops accepting, finishes requests in flight, closes the database (and stops the embedded one).
    void backend.stop().then(() => {
      if (development) tryDevelopmentHelper(logger, 'remove the runtime file', () => removeRuntimeFile(config.dataDir));
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
