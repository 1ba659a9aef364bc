#!/usr/bin/env bash
# The one command that sets up and runs Ferry on a fresh Debian machine:
# system packages, npm dependencies, SQLite database (migrated), demo host, production build, server on 127.0.0.1:3000.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/quiet-env.sh
bash scripts/install-system-deps.sh --runtime
bash scripts/prepare.sh
npx next build
# No default password: say how to make the first admin (nothing when one exists).
npx tsx --conditions=react-server scripts/user.ts status
# Binds 127.0.0.1 unless FERRY_LISTEN says otherwise; the server enforces the IP allow-list (README).
exec node --conditions=react-server scripts/serve.mjs
