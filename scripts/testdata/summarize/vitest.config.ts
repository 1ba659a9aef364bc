import { defineConfig } from 'vitest/config';

// Only for scripts/summarize-tests.test.ts, which runs vitest on these fixtures to get real JSON reports.
export default defineConfig({
  test: { include: ['**/*.fixture.ts'], environment: 'node' },
});
