import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../server/infra/dev/embeddedDatabase';

declare module 'vitest' {
  export interface ProvidedContext {
    mongodbUri: string;
  }
}

let database: EmbeddedDatabase | undefined;
let dir: string | undefined;

/** MONGODB_URI when given (a real MongoDB), else one embedded FerretDB for the run. */
export async function setup(project: TestProject) {
  if (process.env.MONGODB_URI) {
    project.provide('mongodbUri', process.env.MONGODB_URI);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'wxlogin-test-db-'));
  database = await startEmbeddedDatabase({ dir, log: (line) => console.log(`[test db] ${line}`) });
  console.log(`[test db] ${database.description}`);
  project.provide('mongodbUri', database.uri);
}

export async function teardown() {
  await database?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
