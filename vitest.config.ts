import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  resolve: {
    alias: {
      '@': fileURLToPath(new URL('.', import.meta.url)),
      // The marker throws outside React's server condition; tests run the server modules it guards, in Node.
      'server-only': fileURLToPath(new URL('./node_modules/server-only/empty.js', import.meta.url)),
    },
  },
  test: {
    include: ['server/**/*.test.ts', 'trpc/**/*.test.ts', 'scripts/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real sshd and virsh processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    // vitest's default too, stated: on CI a focused test fails its file (scripts/test-all.sh passes --allowOnly=false).
    allowOnly: !process.env.CI,
  },
});
