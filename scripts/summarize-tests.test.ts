import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The summarizer reads the JSON reports real vitest and Playwright runs write. These come from running both on
 * the tiny fixture files in scripts/testdata/summarize/ (passing, skipped/todo/fixme, focused with `.only`),
 * with the same flags scripts/test-all.sh uses, so a change in either runner's report shape shows up here.
 */
const REPO = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = join(REPO, 'scripts/testdata/summarize');
const SUMMARIZER = join(REPO, 'scripts/summarize-tests.mjs');
const FIXTURE_NAMES = ['passing', 'skipped', 'only'] as const;
type FixtureName = (typeof FIXTURE_NAMES)[number];

let work: string;

/** Runs a command to completion; a non-zero exit is an answer here, not an error. */
function run(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  // The runners under test must not think they are this vitest's workers.
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_OPTIONS'),
  );
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: REPO, env: { ...cleanEnv, ...env } as NodeJS.ProcessEnv, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
    );
  });
}

async function runVitest(name: FixtureName): Promise<void> {
  const output = join(work, `vitest-${name}.json`);
  await run(join(REPO, 'node_modules/.bin/vitest'), [
    'run',
    '--root',
    FIXTURES,
    '--allowOnly=false',
    '--reporter=json',
    `--outputFile.json=${output}`,
    `${name}.fixture.ts`,
  ]);
}

async function runPlaywright(name: FixtureName): Promise<void> {
  await run(
    join(REPO, 'node_modules/.bin/playwright'),
    ['test', '--config', join(FIXTURES, 'playwright.config.ts'), '--forbid-only', '--reporter=json', `${name}.pw`],
    { PLAYWRIGHT_JSON_OUTPUT_NAME: join(work, `playwright-${name}.json`) },
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ferry-summarize-'));
  // Two at a time: the machine has two cores.
  for (const name of FIXTURE_NAMES) await Promise.all([runVitest(name), runPlaywright(name)]);
}, 180_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

type Scenario = {
  vitest?: FixtureName;
  playwright?: FixtureName;
  /** What e2e/lab-smoke/smoke.sh prints last. */
  smoke?: string;
  /** What test-all.sh's step() appends, one line per step. */
  steps?: string;
  /** What scripts/check-leftovers.sh writes: one line per process or lab remnant found. */
  leftovers?: string;
};

let scenarioCount = 0;
async function summarize(scenario: Scenario): Promise<{ code: number; lines: string[] }> {
  const dir = join(work, `scenario-${scenarioCount++}`);
  await mkdir(dir);
  if (scenario.vitest) await copyFile(join(work, `vitest-${scenario.vitest}.json`), join(dir, 'vitest.json'));
  if (scenario.playwright)
    await copyFile(join(work, `playwright-${scenario.playwright}.json`), join(dir, 'playwright.json'));
  if (scenario.smoke !== undefined) await writeFile(join(dir, 'smoke.txt'), scenario.smoke);
  if (scenario.steps !== undefined) await writeFile(join(dir, 'steps.txt'), scenario.steps);
  if (scenario.leftovers !== undefined) await writeFile(join(dir, 'leftovers.txt'), scenario.leftovers);
  const { code, stdout } = await run(process.execPath, [SUMMARIZER, dir]);
  return { code, lines: stdout.trim().split('\n') };
}

const GREEN: Scenario = {
  vitest: 'passing',
  playwright: 'passing',
  smoke: 'lab smoke: 2 passed, 0 failed\n',
  steps: 'ok typecheck\nok lint\n',
  leftovers: '',
};

describe('summarize-tests.mjs on reports from real vitest and Playwright runs', () => {
  it('exits 0 with a closing line of only passes when everything ran and passed', async () => {
    const { code, lines } = await summarize(GREEN);
    expect(lines.at(-1)).toBe('tests: 4 passed, 0 failed');
    expect(lines.at(-2)).toBe('(unit+integration: 1 passed; e2e: 1 passed; lab smoke: 2 passed; leftovers: none)');
    expect(code).toBe(0);
  });

  it('counts a skipped and a todo vitest test as failures and exits 1', async () => {
    const { code, lines } = await summarize({ ...GREEN, vitest: 'skipped' });
    expect(lines.at(-1)).toBe('tests: 4 passed, 2 failed');
    expect(lines.at(-2)).toContain('unit+integration: 1 passed, 1 skipped, 1 todo');
    expect(code).toBe(1);
  });

  it('counts a skipped and a fixme Playwright test as failures and exits 1', async () => {
    const { code, lines } = await summarize({ ...GREEN, playwright: 'skipped' });
    expect(lines.at(-1)).toBe('tests: 4 passed, 2 failed');
    expect(lines.at(-2)).toContain('e2e: 1 passed, 2 skipped');
    expect(code).toBe(1);
  });

  it('counts a focused vitest test (refused with --allowOnly=false) and the test it hid as failures', async () => {
    const { code, lines } = await summarize({ ...GREEN, vitest: 'only' });
    expect(lines.at(-1)).toBe('tests: 3 passed, 2 failed');
    expect(lines.at(-2)).toContain('unit+integration: 0 passed, 1 failed, 1 skipped');
    expect(code).toBe(1);
  });

  it('counts a Playwright run refused by --forbid-only as a failure although no test failed', async () => {
    const { code, lines } = await summarize({ ...GREEN, playwright: 'only' });
    expect(lines.at(-1)).toBe('tests: 3 passed, 1 failed');
    expect(lines.at(-2)).toContain('e2e: 0 passed, 1 errors');
    expect(code).toBe(1);
  });

  it('counts a missing report, a failed step and every leftover as failures', async () => {
    const { code, lines } = await summarize({
      ...GREEN,
      playwright: undefined,
      steps: 'ok typecheck\nFAILED lint\n',
      leftovers: 'process 4242 virsh -c test:///default event --loop\nnetns ferrylab-hv1\n',
    });
    expect(lines.at(-1)).toBe('tests: 3 passed, 4 failed');
    expect(lines.at(-2)).toBe(
      '(unit+integration: 1 passed; playwright.json missing; lab smoke: 2 passed; failed steps: lint; leftovers: 2)',
    );
    expect(code).toBe(1);
  });

  it('fails when a smoke run printed no count or leftovers were never checked', async () => {
    const { code, lines } = await summarize({ ...GREEN, smoke: 'lab: failed at lab.sh:12\n', leftovers: undefined });
    expect(lines.at(-1)).toBe('tests: 2 passed, 2 failed');
    expect(lines.at(-2)).toContain('lab smoke printed no count');
    expect(lines.at(-2)).toContain('leftovers.txt missing');
    expect(code).toBe(1);
  });
});
