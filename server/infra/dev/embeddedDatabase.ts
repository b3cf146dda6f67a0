import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ensureDevdbBuilt, goAvailable } from '../../../devdb/ensureBuilt';
import { stopChild } from '../../stopChild';

/**
 * The embedded MongoDB-compatible database used when MONGODB_URI is unset: FerretDB v1 on SQLite
 * (our devdb/ Go program). Where Go is missing, mongodb-memory-server-core is the fallback; it
 * downloads a real mongod on first use, so it needs network access to MongoDB's servers.
 */
export interface EmbeddedDatabase {
  uri: string;
  /** What was chosen and why, for the start-up line. */
  description: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dir: string;
  port?: number;
  log?: (line: string) => void;
}

export async function startEmbeddedDatabase(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  if (await goAvailable()) {
    const binary = await ensureDevdbBuilt(opts.log);
    return startDevdb(binary, opts);
  }
  return startMemoryServer(opts);
}

async function startDevdb(binary: string, opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  // stdin stays open as a lifeline: devdb exits when it closes, so it dies with this process.
  const child = spawn(binary, ['-dir', opts.dir, '-port', String(opts.port ?? 0)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    if (stderr.length > 50) stderr.shift();
  });

  const uri = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error('embedded database did not start within 30 s')), 30_000);
    function fail(err: Error) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}${stderr.length ? `: ${stderr.join('').trim().slice(-500)}` : ''}`));
    }
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { uri: string }).uri);
      } catch {
        fail(new Error(`unexpected output from devdb: ${line.slice(0, 200)}`));
      }
    });
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`embedded database exited with code ${code}`)));
  });

  return {
    uri,
    description: `embedded FerretDB v1 (SQLite in ${opts.dir}) at ${uri}, because MONGODB_URI is unset`,
    stop: () => stopChild(child, 5000),
  };
}


async function startMemoryServer(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const specifier = 'mongodb-memory-server-core';
  let mod: { MongoMemoryServer: { create(o?: object): Promise<{ getUri(): string; stop(): Promise<boolean> }> } };
  try {
    mod = await import(specifier);
  } catch {
    throw new Error(
      'No Go toolchain to build the embedded database, and mongodb-memory-server-core is not installed: install Go, or set MONGODB_URI',
    );
  }
  const server = await mod.MongoMemoryServer.create({ instance: { ip: '127.0.0.1', port: opts.port } });
  const uri = server.getUri();
  return {
    uri,
    description: `mongodb-memory-server at ${uri}, because MONGODB_URI is unset and Go is missing`,
    stop: async () => {
      await server.stop();
    },
  };
}
