import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests run servers on loopback ports; two cores, so keep the pool small.
    pool: 'forks',
    maxWorkers: 2,
  },
});
