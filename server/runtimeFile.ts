import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * A development helper: where `npm start` tells `npm run demo` and `npm run admin` how to reach
 * it, its simulator and its embedded database. Written in development only, under DATA_DIR.
 */
const runtimeFileSchema = z.object({
  url: z.url(),
  simulatorUrl: z.url().nullable(),
  /** The embedded database (loopback, no password); null when MONGODB_URI is set. */
  databaseUri: z.string().startsWith('mongodb://').nullable(),
});
export type RuntimeInfo = z.infer<typeof runtimeFileSchema>;

export const runtimeFilePath = (dataDir: string) => join(dataDir, 'runtime.json');

export function writeRuntimeFile(dataDir: string, info: RuntimeInfo): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(runtimeFilePath(dataDir), JSON.stringify(info, null, 2));
}

export function removeRuntimeFile(dataDir: string): void {
  rmSync(runtimeFilePath(dataDir), { force: true });
}

/** What a running development server wrote, or undefined when there is none (or it is not ours). */
export function readRuntimeFile(dataDir: string): RuntimeInfo | undefined {
  let text: string;
  try {
    text = readFileSync(runtimeFilePath(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = runtimeFileSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
