import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

/**
 * The promise of docs/extending.md, proven: a new module is its folder and one line in the module
 * list, nothing else. In a temporary copy of the repository (the files git knows, with
 * node_modules and the built embedded database linked in), the example module is copied under a
 * new name by plain text substitution (notes → bookmarks, Note → Bookmark, NOTE → BOOKMARK), the
 * module is registered in server/modules/index.ts, and there the whole project's type check and the new
 * module's end-to-end test run as child processes.
 */
const ROOT = resolve(import.meta.dirname, '..');
const RUN_TIMEOUT_MS = 240_000;

/** The example module's files under the new name, with every identifier renamed. */
const rename = (text: string) => text.replace(/note/g, 'bookmark').replace(/Note/g, 'Bookmark').replace(/NOTE/g, 'BOOKMARK');

/** The one line (and its import) a team adds to server/modules/index.ts. */
function mount(indexTs: string): string {
  const importLine = "import { notes } from './notes';";
  const mountLine = '  notes,';
  if (!indexTs.includes(importLine) || !indexTs.includes(mountLine)) throw new Error('server/modules/index.ts no longer registers notes as the test expects: update the anchors');
  return indexTs
    .replace(importLine, `${importLine}\nimport { bookmarks } from './bookmarks';`)
    .replace(mountLine, `${mountLine}\n  bookmarks,`);
}

interface Run {
  code: number;
  output: string;
}

function run(copy: string, command: string, args: string[]): Promise<Run> {
  // A clean child: none of this vitest run's own variables; the run's database, shared.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  return new Promise((done) => {
    execFile(
      join(copy, 'node_modules', '.bin', command),
      args,
      { cwd: copy, env: { ...env, NODE_ENV: 'test', NO_COLOR: '1', FORCE_COLOR: '0', MONGODB_URI: inject('mongodbUri') }, timeout: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, output: `${stdout}\n${stderr}` }),
    );
  });
}

describe('a new module is one folder and one line (server/modules/bookmarks, made from notes)', () => {
  let copy: string;
  const added: string[] = [];

  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), 'wxlogin-new-module-'));
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const file of files) {
      if (!existsSync(join(ROOT, file))) continue; // deleted in the working tree, not yet committed
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      cpSync(join(ROOT, file), join(copy, file));
    }
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    if (existsSync(join(ROOT, 'devdb', 'bin'))) symlinkSync(join(ROOT, 'devdb', 'bin'), join(copy, 'devdb', 'bin'), 'dir');

    const from = join(ROOT, 'server', 'modules', 'notes');
    const to = join(copy, 'server', 'modules', 'bookmarks');
    mkdirSync(to);
    for (const name of readdirSync(from)) {
      writeFileSync(join(to, rename(name)), rename(readFileSync(join(from, name), 'utf8')));
      added.push(`server/modules/bookmarks/${rename(name)}`);
    }
    writeFileSync(join(copy, 'server', 'modules', 'index.ts'), mount(readFileSync(join(copy, 'server', 'modules', 'index.ts'), 'utf8')));
  });

  afterAll(() => {
    // Removes the links, not what they point to.
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it(
    'type-checks the whole project and passes its own end-to-end test, with nothing else edited',
    async () => {
      expect(added).toEqual(expect.arrayContaining(['server/modules/bookmarks/router.ts', 'server/modules/bookmarks/bookmarks.e2e.test.ts']));
      // Nothing of the core names the new module but the module list (this test aside).
      const mentions = execFileSync('grep', ['-rl', '--exclude-dir=node_modules', '--exclude-dir=bin', 'bookmark', 'server', 'shared', 'client', 'test'], { cwd: copy, encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter((file) => file !== 'test/new-module.test.ts')
        .sort();
      expect(mentions).toEqual([...added, 'server/modules/index.ts'].sort());

      // Side by side: two CPU-bound children share the machine's cores.
      const [types, e2e] = await Promise.all([
        run(copy, 'tsc', ['-p', 'tsconfig.json']),
        run(copy, 'vitest', ['run', 'server/modules/bookmarks/bookmarks.e2e.test.ts']),
      ]);
      expect(types.code, types.output).toBe(0);
      expect(e2e.code, e2e.output).toBe(0);
      expect(e2e.output).toMatch(/Tests\s+6 passed \(6\)/);
      expect(e2e.output).toContain('bookmarks.e2e.test.ts');
    },
    RUN_TIMEOUT_MS + 30_000,
  );
});
