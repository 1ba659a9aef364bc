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
exec npx next start -p "$port" -H 127.0.0.1
