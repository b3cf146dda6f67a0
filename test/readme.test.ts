import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../server/config';
import { ERROR_REASONS } from '../shared';

const ROOT = resolve(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Every markdown file of the documentation: the front page and everything under docs/. */
function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.endsWith('.md') ? [join(dir, entry.name)] : [],
    );
  return ['README.md', ...walk('docs')];
}

/** The rows of the first markdown table whose header starts with `firstColumn`, as arrays of cells. */
function tableRows(text: string, firstColumn: string): string[][] {
  const lines = text.split('\n');
  const header = lines.findIndex((line) => line.startsWith(`| ${firstColumn} |`));
  expect(header, `a table headed "${firstColumn}"`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    // Split on the cell separators, not on `\|` written inside a cell.
    rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
  }
  return rows;
}

const backticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

// The README is a front page: the two commands first, short, and every link leads somewhere.
describe('README', () => {
  const readme = read('README.md');

  it('links docs/extending.md (adding a module) from its first screen', () => {
    const firstScreen = readme.split('\n').slice(0, 40).join('\n');
    expect(firstScreen).toContain('](docs/extending.md)');
    expect(existsSync(join(ROOT, 'docs', 'extending.md'))).toBe(true);
  });

  it('starts with the two commands', () => {
    const firstBlock = readme.split('```')[1] ?? '';
    expect(firstBlock).toContain('npm start');
    expect(firstBlock).toContain('npm test');
  });

  it('is a front page: at most 150 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(150);
  });
});

describe('docs', () => {
  it.each(markdownFiles())('%s: every relative link names a file that exists', (file) => {
    const text = read(file);
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!.split('#')[0]!)
      .filter((target) => target !== '' && !/^[a-z]+:/.test(target));
    const missing = targets
      .map((target) => resolve(ROOT, dirname(file), target))
      .filter((path) => !existsSync(path))
      .map((path) => relative(ROOT, path));
    expect(missing, `links in ${file}`).toEqual([]);
  });

  it('the index lists every page under docs/', () => {
    const index = read('docs/README.md');
    const pages = markdownFiles()
      .filter((file) => file.startsWith('docs') && file !== join('docs', 'README.md'))
      .map((file) => relative('docs', file));
    for (const page of pages) expect(index, page).toContain(`](${page})`);
  });
});

// The reason table is what client teams code against: exactly the core's reasons, each with its
// tRPC code and the HTTP status that code travels under.
describe('docs/reference/error-reasons.md', () => {
  const rows = tableRows(read('docs/reference/error-reasons.md'), 'reason');

  it.each(Object.entries(ERROR_REASONS))('documents %s as %s', (reason, code) => {
    const status = getHTTPStatusCodeFromError(new TRPCError({ code }));
    const row = rows.find((cells) => cells[0] === `\`${reason}\``);
    expect(row, `a row for ${reason}`).toBeDefined();
    expect(row![1]).toBe(`${code} (${status})`);
  });

  it('lists no reason the code does not have, and none twice', () => {
    const listed = rows.map((cells) => cells[0]!.replace(/`/g, ''));
    expect([...listed].sort()).toEqual(Object.keys(ERROR_REASONS).sort());
  });
});

// The configuration table lists every variable the server reads (server/config.ts), and only those.
describe('docs/reference/configuration.md', () => {
  it('lists every variable of the config schema, once, and nothing else', () => {
    const rows = tableRows(read('docs/reference/configuration.md'), 'variable');
    const listed = rows.flatMap((cells) => backticked(cells[0]!));
    expect([...listed].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });
});
