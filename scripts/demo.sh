#!/usr/bin/env bash
# Runs the platform with demo data on embedded defaults: SQLite, the in-memory
# channel layer, eager tasks and local files under var/. http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
mkdir -p var
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py demo_seed
echo "==> Xuewen on http://127.0.0.1:8000 (Ctrl-C stops it)"
exec .venv/bin/python -m config.web -b 127.0.0.1 -p 8000 config.asgi:application
