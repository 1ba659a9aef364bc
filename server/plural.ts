/**
 * The one way Ferry writes a count with its noun ("1 VM", "2 VMs", "1,024 rows"), in the browser and in server
 * messages alike. English only, like the rest of the UI; the locale is fixed so a server-rendered page and the
 * browser that hydrates it print the same digits.
 */

const LOCALE = 'en-US';
const RULES = new Intl.PluralRules(LOCALE);
const NUMBER = new Intl.NumberFormat(LOCALE);

/** The noun alone, chosen for `count`: `pluralWord(1, 'disk')` is "disk", `pluralWord(0, 'disk')` is "disks". */
export function pluralWord(count: number, one: string, other = `${one}s`): string {
  return RULES.select(count) === 'one' ? one : other;
}

/** Count and noun: `plural(1, 'VM')` is "1 VM", `plural(3, 'alias', 'aliases')` is "3 aliases". */
export function plural(count: number, one: string, other = `${one}s`): string {
  return `${NUMBER.format(count)} ${pluralWord(count, one, other)}`;
}
