import { expect, test as setup } from '@playwright/test';
import { ADMIN_STATE, addUserWithCli, E2E_ADMIN, signInWithPage } from './auth';
import { gotoReady } from './ready';

/**
 * Runs before every spec: a fresh Ferry has no users, so this creates the first admin the way the README
 * says (`npm run user -- add … --role admin`), signs in through the page and keeps the cookie for the specs.
 */
setup('create the first admin with npm run user and sign in', async ({ page }) => {
  await gotoReady(page, '/');
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByText('No user exists yet.')).toBeVisible();
  await expect(page.getByText('npm run user -- add <name> --role admin')).toBeVisible();

  addUserWithCli({ name: E2E_ADMIN.name, role: 'admin', password: E2E_ADMIN.password });
  await signInWithPage(page, E2E_ADMIN);
  await page.context().storageState({ path: ADMIN_STATE });
});
