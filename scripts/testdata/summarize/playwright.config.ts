import { defineConfig } from '@playwright/test';

// Only for scripts/summarize-tests.test.ts, which runs Playwright on these fixtures to get real JSON reports.
// No browser: the fixture tests use no page.
export default defineConfig({ testDir: '.', testMatch: /.*\.pw-fixture\.ts/, workers: 1, retries: 0 });
