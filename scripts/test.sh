#!/usr/bin/env bash
# Runs the linters, the import contracts, the type checker and the whole test suite against the real PostgreSQL
# and Redis (started if they are down).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
scripts/services.sh
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/1}"
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> the app order (import-linter)"
.venv/bin/lint-imports
echo "==> types (mypy)"
.venv/bin/mypy
echo "==> migrations are up to date"
.venv/bin/python manage.py makemigrations --check --dry-run
echo "==> pytest"
exec .venv/bin/python -m pytest "$@"
