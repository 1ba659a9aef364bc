import { defineConfig } from 'vitest/config';
import { tmpdir } from 'node:os';
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
    include: [
      'server/**/*.test.ts',
      'trpc/**/*.test.ts',
      'scripts/**/*.test.ts',
      'cli/**/*.test.ts',
      'app/**/*.test.ts',
    ],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real sshd and virsh processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    // vitest's default too, stated: on CI a focused test fails its file (scripts/test-all.sh passes --allowOnly=false).
    allowOnly: !process.env.CI,
    env: {
      // Ferry's JSON log lines (server/observability/logger.ts): only warnings and errors on the test output.
      FERRY_LOG_CONSOLE_LEVEL: 'warn',
      // The URI policy's directories (server/hosts/uri-policy.ts): test-driver files live in the temp dir here.
      FERRY_TEST_DRIVER_DIR: tmpdir(),
      FERRY_KEY_DIR: fileURLToPath(new URL('./data/test-keys', import.meta.url)),
    },
  },
});
