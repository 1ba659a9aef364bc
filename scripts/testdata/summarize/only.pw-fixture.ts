import { expect, test as it } from '@playwright/test';

// Deliberately focused: with only() allowed, the other test would silently not run.
it.only('is focused', () => {
  expect(1 + 1).toBe(2);
});
it('is left out by the focus', () => {
  expect(1 + 1).toBe(2);
});
