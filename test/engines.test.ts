import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/serverProcess';

/**
 * `npm ci` warns (EBADENGINE) for every installed package whose `engines.node` excludes the Node
 * it runs on. The lockfile records each package's engines: every package npm installs must accept
 * the oldest Node we support (package.json's engines), so that Node 20 installs without a warning.
 */
describe('npm ci on the oldest supported Node', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; optional?: boolean; engines?: { node?: string } }>;
  };
  const oldest = semver.minVersion(pkg.engines.node)!.version;

  it(`installs nothing that refuses Node ${oldest}`, () => {
    const refusing = Object.entries(lock.packages)
      .filter(([path, p]) => path && !p.optional && p.engines?.node && !semver.satisfies(oldest, p.engines.node))
      .map(([path, p]) => `${path.replace(/^.*node_modules\//, '')}@${p.version} (node ${p.engines!.node})`);
    expect(refusing).toEqual([]);
  });
});
