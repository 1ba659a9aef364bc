import type { Page } from '@playwright/test';

/** Navigates and waits until React has hydrated: input typed into a server-rendered form before that is lost. */
export async function gotoReady(page: Page, url: string) {
  await page.goto(url);
  await page.locator('html[data-hydrated="true"]').waitFor({ state: 'attached' });
}
