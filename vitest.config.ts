import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // Labs verified with `concurrent: true` run this many variants of one lab side by side.
    maxConcurrency: 3,
    reporters: ['default'],
  },
});
