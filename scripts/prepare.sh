#!/usr/bin/env bash
# npm dependencies, Prisma client, database migrations and the first-start seed. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npx prisma generate >/dev/null
npx prisma migrate deploy
npx tsx --conditions=react-server prisma/seed.ts
