import { expect, type Locator, type Page } from '@playwright/test';

/** Navigates and waits until React has hydrated: input typed into a server-rendered form before that is lost. */
export async function gotoReady(page: Page, url: string) {
  await page.goto(url);
  await page.locator('html[data-hydrated="true"]').waitFor({ state: 'attached' });
}

/** Fills a controlled input and checks the value stuck (a late hydration pass can reset it). */
export async function fillStable(locator: Locator, value: string) {
  await expect(async () => {
    await locator.fill(value);
    await expect(locator).toHaveValue(value, { timeout: 500 });
  }).toPass({ timeout: 15_000 });
}
