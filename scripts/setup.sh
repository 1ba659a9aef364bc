#!/usr/bin/env bash
# The one command that sets up and runs Ferry on a fresh Debian machine:
# system packages, npm dependencies, SQLite database (migrated), demo host, production build, server on :3000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh --runtime
bash scripts/prepare.sh
npx next build
# No default password: say how to make the first admin (nothing when one exists).
npx tsx scripts/user.ts status
echo "Ferry is starting on http://localhost:${PORT:-3000}"
exec npx next start -p "${PORT:-3000}"
