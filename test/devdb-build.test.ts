/**
 * devdb's build is cached (devdb/bin/devdb.stamp): it must be redone whenever anything it is built
 * from changes, our Go files and the patches applied to FerretDB alike, or a change would
 * silently not reach the binary the tests run.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceStamp } from '../devdb/ensureBuilt';

const DEVDB = join(import.meta.dirname, '..', 'devdb');

describe('the devdb build stamp', () => {
  let copy: string;
  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), 'wxlogin-devdb-stamp-'));
    cpSync(DEVDB, copy, { recursive: true, filter: (src) => !src.startsWith(join(DEVDB, 'bin')) && !src.startsWith(join(DEVDB, 'build')) });
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('is the same for the same sources', async () => {
    expect(await sourceStamp(copy)).toBe(await sourceStamp(copy));
  });

  it('changes with every Go file of devdb, not only main.go', async () => {
    for (const file of readdirSync(copy).filter((f) => f.endsWith('.go'))) {
      const before = await sourceStamp(copy);
      appendFileSync(join(copy, file), '\n// changed\n');
      expect(await sourceStamp(copy), file).not.toBe(before);
    }
  });

  it('changes when a patch to FerretDB changes, and when one is added', async () => {
    const patches = readdirSync(join(copy, 'patches')).filter((f) => f.endsWith('.patch'));
    expect(patches.length).toBeGreaterThan(0);
    for (const file of patches) {
      const before = await sourceStamp(copy);
      appendFileSync(join(copy, 'patches', file), ' \n');
      expect(await sourceStamp(copy), file).not.toBe(before);
    }
    const before = await sourceStamp(copy);
    writeFileSync(join(copy, 'patches', '9999-more.patch'), '');
    expect(await sourceStamp(copy)).not.toBe(before);
  });
});
