import { defineConfig } from 'vitest/config';

// One runner, several projects: plain Node unit tests, the reference parity suites
// (also runnable alone with `npm run test:reference`), and the edge inside workerd.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['shared/test/**/*.test.ts', 'gpu-worker/test/**/*.test.ts', 'infra/**/*.test.ts'],
          exclude: ['**/*.reference.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'reference',
          include: ['**/*.reference.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 120_000,
        },
      },
    ],
  },
});
