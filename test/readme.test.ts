import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_REASONS } from '../shared';

// The README's reason table is what client teams code against: it must list every reason with its code.
describe('README', () => {
  const readme = readFileSync(resolve(import.meta.dirname, '..', 'README.md'), 'utf8');
  it.each(Object.entries(ERROR_REASONS))('documents %s as %s', (reason, code) => {
    expect(readme).toMatch(new RegExp(`\\| \`${reason}\` \\| ${code} \\(`));
  });
  it('starts with the two commands', () => {
    const firstBlock = readme.split('```')[1] ?? '';
    expect(firstBlock).toContain('npm start');
    expect(firstBlock).toContain('npm test');
  });
});
