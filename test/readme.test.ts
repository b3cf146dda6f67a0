import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_REASONS } from '../shared';

// The README's reason table is what client teams code against: it must list every reason of the
// core with its code. Modules' reasons (defineReasons) are documented in their modules: a team
// adding one does not edit the README.
describe('README', () => {
  const readme = readFileSync(resolve(import.meta.dirname, '..', 'README.md'), 'utf8');
  it.each(Object.entries(ERROR_REASONS))('documents %s as %s', (reason, code) => {
    expect(readme).toMatch(new RegExp(`\\| \`${reason}\` \\| ${code} \\(`));
  });
  it('links docs/extending.md (adding a module) from its first screen', () => {
    const firstScreen = readme.split('\n').slice(0, 40).join('\n');
    expect(firstScreen).toContain('](docs/extending.md)');
    expect(existsSync(resolve(import.meta.dirname, '..', 'docs', 'extending.md'))).toBe(true);
  });
  it('starts with the two commands', () => {
    const firstBlock = readme.split('```')[1] ?? '';
    expect(firstBlock).toContain('npm start');
    expect(firstBlock).toContain('npm test');
  });
});
