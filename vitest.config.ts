import { defineConfig } from 'vitest/config';

// Each test file runs in its own process: the embedded ClickHouse engine binds one data
// directory per process, and every suite gets a fresh one (see test/helpers).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // a migrated ClickHouse directory each suite copies instead of migrating from empty
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    // two files at a time (a third gained 3% on two cores and slows each test); TAYORI_TEST_WORKERS overrides
    maxWorkers: Number(process.env.TAYORI_TEST_WORKERS ?? 2),
    isolate: true,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
