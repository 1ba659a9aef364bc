#!/usr/bin/env bash
# Starts the production build for Playwright on a fresh database of its own, seeded like a first start.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/quiet-env.sh
port=${1:-3100}
export DATABASE_URL=${E2E_DATABASE_URL:-file:./data/e2e.db}
db_file=${DATABASE_URL#file:}
rm -f "$db_file" "$db_file-journal" "$db_file-wal" "$db_file-shm"
npx prisma migrate deploy >/dev/null
npx tsx --conditions=react-server prisma/seed.ts
# The URI policy's directories: the lab's ssh key, and test-driver files the specs write (e2e/test-hosts.ts).
export FERRY_KEY_DIR=${FERRY_KEY_DIR:-${FERRY_LAB_DIR:-$PWD/.lab}/keys}
export FERRY_TEST_DRIVER_DIR=${FERRY_TEST_DRIVER_DIR:-$PWD/data/e2e-test-hosts}
mkdir -p "$FERRY_TEST_DRIVER_DIR"
# The server's JSON log lines also go to a file of their own, fresh per run: e2e/observability.spec.ts reads it.
export FERRY_LOG_FILE=${FERRY_LOG_FILE:-$PWD/data/e2e-server-$port.log}
rm -f "$FERRY_LOG_FILE"
# Every request is a line in that file; Playwright's output shows only the server's warnings and errors.
export FERRY_LOG_CONSOLE_LEVEL=${FERRY_LOG_CONSOLE_LEVEL:-warn}
PORT=$port FERRY_LISTEN=127.0.0.1 exec node --conditions=react-server scripts/serve.mjs
