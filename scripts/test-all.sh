#!/usr/bin/env bash
# Every test Ferry has: typecheck, lint, unit + integration (real virsh, sshd), the two-hypervisor lab smoke test,
# and Playwright end to end in Chromium against a production build and the lab. Needs root for the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
bash scripts/install-system-deps.sh --test
bash scripts/prepare.sh >/dev/null

reports=test-reports
rm -rf "$reports"
mkdir -p "$reports"
: >"$reports/steps.txt"
status=0
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
    status=1
  fi
}

step typecheck npx tsc --noEmit
step lint npm run --silent lint
step "unit and integration" npx vitest run --reporter=default --reporter=json --outputFile.json="$reports/vitest.json"

cleanup_lab() { bash e2e/lab/lab.sh down >/dev/null 2>&1 || true; }
trap cleanup_lab EXIT
step "lab up" bash e2e/lab/lab.sh up
smoke() { bash e2e/lab-smoke/smoke.sh | tee "$reports/smoke.txt"; }
step "lab smoke" smoke
step build npx next build
step "end to end" env PLAYWRIGHT_JSON_OUTPUT_NAME="$reports/playwright.json" npx playwright test --reporter=list,json

echo
node scripts/summarize-tests.mjs "$reports"
exit $status
