#!/usr/bin/env bash
# Everything the test suite needs beyond the Python packages; idempotent, so cheap on re-runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Headless Chromium for the page tests (Debian's build; Playwright drives it, never downloads one).
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

# PostgreSQL and Redis for the second leg; start them if this machine stopped them.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
# Node 22 and the reference Bluesky network (@atproto/dev-env) for the end-to-end tests:
# installed once into $CHORUS_TOOLS_DIR, which scripts/test.sh keeps outside the clone.
.venv/bin/chorus devnet install

for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
  sleep 1
done
