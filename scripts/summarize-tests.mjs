// Prints one closing line, "tests: N passed, M failed", from the JSON reports vitest, Playwright and the lab
// smoke test wrote during scripts/test-all.sh. A report that is missing counts as one failure: a step that
// never ran must not look green.
import { existsSync, readFileSync } from 'node:fs';

const dir = process.argv[2] ?? 'test-reports';
let passed = 0;
let failed = 0;
const notes = [];

function read(name) {
  const file = `${dir}/${name}`;
  if (!existsSync(file)) {
    failed += 1;
    notes.push(`${name} missing`);
    return null;
  }
  return readFileSync(file, 'utf8');
}

const vitest = read('vitest.json');
if (vitest) {
  const report = JSON.parse(vitest);
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  notes.push(`unit+integration ${report.numPassedTests}/${report.numTotalTests}`);
}
const playwright = read('playwright.json');
if (playwright) {
  const { stats } = JSON.parse(playwright);
  passed += stats.expected;
  failed += stats.unexpected + stats.flaky;
  notes.push(`e2e ${stats.expected}/${stats.expected + stats.unexpected + stats.flaky + stats.skipped}`);
}
const smoke = read('smoke.txt');
if (smoke) {
  const match = /(\d+) passed, (\d+) failed/.exec(smoke);
  if (match) {
    passed += Number(match[1]);
    failed += Number(match[2]);
    notes.push(`lab smoke ${match[1]}/${Number(match[1]) + Number(match[2])}`);
  } else {
    failed += 1;
    notes.push('lab smoke printed no count');
  }
}
const steps = read('steps.txt');
if (steps) {
  const failedSteps = steps.split('\n').filter((line) => line.startsWith('FAILED '));
  failed += failedSteps.length;
  if (failedSteps.length > 0) notes.push(`failed steps: ${failedSteps.map((line) => line.slice(7)).join(', ')}`);
}
console.log(`(${notes.join('; ')})`);
console.log(`tests: ${passed} passed, ${failed} failed`);
