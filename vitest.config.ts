import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'server/**/*.test.ts', 'client/**/*.test.ts', 'shared/**/*.test.ts'],
    // One embedded database for the whole run (or MONGODB_URI); each test file uses its own database in it.
    globalSetup: ['test/helpers/globalDatabase.ts'],
    testTimeout: 30_000,
    hookTimeout: 240_000,
    // Two cores: more workers only contend.
    maxWorkers: 2,
  },
});
