#!/usr/bin/env bash
# Every test Ferry has: typecheck, lint, unit + integration (real virsh, sshd), the two-hypervisor lab smoke test,
# and Playwright end to end in Chromium against a production build and the lab, then the lab's teardown and a
# check that nothing the run started is still alive. Needs root for the lab, and the ferry-test account
# (README, "Test it"). The last line and the exit status both come from summarize-tests.mjs: one count, one verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/quiet-env.sh
bash scripts/install-system-deps.sh --test
bash scripts/prepare.sh >/dev/null

reports=test-reports
rm -rf "$reports"
mkdir -p "$reports"
: >"$reports/steps.txt"
# What was already running (virsh, sshd, QEMU, …) before the first test: anything else of that kind still alive
# at the end was started by this run and left behind.
bash scripts/check-leftovers.sh snapshot "$reports/process-baseline.txt"
step() {
  local name=$1
  shift
  echo
  echo "=== $name"
  if "$@"; then
    echo "ok $name" >>"$reports/steps.txt"
  else
    echo "=== $name: FAILED"
    echo "FAILED $name" >>"$reports/steps.txt"
  fi
}

# The ssh tests log in as an account this script does not create (README, "Test it"): say so first, plainly.
test_user() {
  getent passwd ferry-test >/dev/null && return 0
  echo "account ferry-test is missing; the ssh executor tests will fail. Create it once, as root, with:"
  echo "  bash scripts/install-system-deps.sh --test-user"
  return 1
}
step "ssh test account" test_user
step typecheck npx tsc --noEmit
step lint npm run --silent lint
# A focused (.only) test is refused, a skipped or todo one is reported: summarize-tests.mjs counts both as failures.
step "unit and integration" npx vitest run --allowOnly=false --reporter=default --reporter=json \
  --outputFile.json="$reports/vitest.json"

# Only for an interrupted run: the "lab down" step below is the teardown that is reported and checked.
cleanup_lab() { bash e2e/lab/lab.sh down >/dev/null 2>&1 || true; }
trap cleanup_lab EXIT
# --secure: TLS, the shared pool and its guests for e2e/secure-migration.spec.ts (e2e/lab/tls.sh).
step "lab up" bash e2e/lab/lab.sh up --secure
smoke() { bash e2e/lab-smoke/smoke.sh | tee "$reports/smoke.txt"; }
step "lab smoke" smoke
step build npx next build
step "end to end" env PLAYWRIGHT_JSON_OUTPUT_NAME="$reports/playwright.json" npx playwright test --forbid-only \
  --reporter=list,json
# Prints every process it stops and every namespace, link and key line it removes, then fails if any is left.
step "lab down" bash e2e/lab/lab.sh down

echo
echo "=== leftovers"
bash scripts/check-leftovers.sh check "$reports/process-baseline.txt" "$reports/leftovers.txt" || true

echo
# The closing line and the exit status come from the same count: a skipped test fails the run.
node scripts/summarize-tests.mjs "$reports"
