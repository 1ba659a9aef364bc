import { expect, test as it } from '@playwright/test';

it('passes', () => {
  expect(1 + 1).toBe(2);
});
