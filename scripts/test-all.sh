#!/usr/bin/env bash
# Every test Ferry has: typecheck, lint, unit + integration (real virsh, sshd), the two-host lab smoke test,
# and Playwright end to end in Chromium against a production build and the lab. Needs root for the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh --test
bash scripts/prepare.sh >/dev/null

status=0
step() {
  local name=$1
  shift
  echo
  echo "=== $name"
  if ! "$@"; then
    echo "=== $name: FAILED"
    status=1
  fi
}

step typecheck npx tsc --noEmit
step lint npx eslint . --max-warnings=0
step "unit and integration" npx vitest run

cleanup_lab() { bash e2e/lab/lab.sh down >/dev/null 2>&1 || true; }
trap cleanup_lab EXIT
step "lab up" bash e2e/lab/lab.sh up
step "lab smoke" bash e2e/lab-smoke/smoke.sh
step build npx next build
step "end to end" npx playwright test

exit $status
