// Prints one closing line, "tests: N passed, M failed", from what scripts/test-all.sh wrote into the reports
// directory, and exits with that line's verdict (0 only when nothing failed and something passed), so the exit
// code of `npm test` and its last line cannot disagree.
//
// Only a test that ran and passed counts as passed. Everything else is a failure: a failed test, a skipped or
// todo test (vitest `skip`/`todo`, Playwright `skip`/`fixme`), a focused `.only` (test-all.sh forbids it, so the
// runner reports it as an error), a file that did not load, a report that is missing or unreadable, a step
// that failed, and every process or lab remnant listed in leftovers.txt.
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

function readJson(name) {
  const text = read(name);
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    failed += 1;
    notes.push(`${name} is not JSON`);
    return null;
  }
}

/** `what: 3 passed, 1 skipped` with only the non-zero counts after "passed". */
function describe(what, counts) {
  const rest = Object.entries(counts)
    .filter(([key, value]) => key !== 'passed' && value > 0)
    .map(([key, value]) => `${value} ${key}`);
  return `${what}: ${[`${counts.passed} passed`, ...rest].join(', ')}`;
}

const vitest = readJson('vitest.json');
if (vitest) {
  // A file that fails to load (syntax error, throwing import, `.only` refused) has no failed assertion.
  const brokenFiles = (vitest.testResults ?? []).filter(
    (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
  ).length;
  const counts = {
    passed: vitest.numPassedTests ?? 0,
    failed: vitest.numFailedTests ?? 0,
    skipped: vitest.numPendingTests ?? 0,
    todo: vitest.numTodoTests ?? 0,
    'files that did not run': brokenFiles,
    'reported unsuccessful': 0,
  };
  let unitFailures = counts.failed + counts.skipped + counts.todo + counts['files that did not run'];
  if (vitest.success === false && unitFailures === 0) {
    counts['reported unsuccessful'] = 1;
    unitFailures = 1;
  }
  if (counts.passed === 0 && unitFailures === 0) {
    counts['ran no tests'] = 1;
    unitFailures = 1;
  }
  passed += counts.passed;
  failed += unitFailures;
  notes.push(describe('unit+integration', counts));
}

const playwright = readJson('playwright.json');
if (playwright) {
  const stats = playwright.stats ?? {};
  const counts = {
    passed: stats.expected ?? 0,
    failed: stats.unexpected ?? 0,
    flaky: stats.flaky ?? 0,
    skipped: stats.skipped ?? 0,
    // Errors outside any test: a forbidden `.only`, a spec that does not load, the web server not starting.
    errors: (playwright.errors ?? []).length,
  };
  let e2eFailures = counts.failed + counts.flaky + counts.skipped + counts.errors;
  if (counts.passed === 0 && e2eFailures === 0) {
    counts['ran no tests'] = 1;
    e2eFailures = 1;
  }
  passed += counts.passed;
  failed += e2eFailures;
  notes.push(describe('e2e', counts));
}

const smoke = read('smoke.txt');
if (smoke !== null) {
  const match = /(\d+) passed, (\d+) failed/.exec(smoke);
  if (match) {
    passed += Number(match[1]);
    failed += Number(match[2]);
    notes.push(describe('lab smoke', { passed: Number(match[1]), failed: Number(match[2]) }));
  } else {
    failed += 1;
    notes.push('lab smoke printed no count');
  }
}

const steps = read('steps.txt');
if (steps !== null) {
  const failedSteps = steps.split('\n').filter((line) => line.startsWith('FAILED '));
  failed += failedSteps.length;
  if (failedSteps.length > 0) notes.push(`failed steps: ${failedSteps.map((line) => line.slice(7)).join(', ')}`);
}

const leftovers = read('leftovers.txt');
if (leftovers !== null) {
  const found = leftovers.split('\n').filter((line) => line.trim() !== '');
  failed += found.length;
  notes.push(found.length === 0 ? 'leftovers: none' : `leftovers: ${found.length}`);
}

console.log(`(${notes.join('; ')})`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
