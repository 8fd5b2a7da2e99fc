#!/usr/bin/env bash
# `make load-test` (not in CI): bench/load.py's 50 users through `medservice serve` (gunicorn)
# on the benchmark database. The token and login throttles are raised: 50 users sign in at once.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
port=${LOAD_PORT:-18250}
out=var/load
mkdir -p "$out/var"
export DATABASE_URL=${LOAD_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/medservice_loadbench}
# A lasting folder: collecting the static files (manifest storage) takes minutes on a busy
# machine, and is needed once.
export MEDSERVICE_DEMO=1 SECURE_HTTPS=0 MEDSERVICE_VAR_DIR=$PWD/$out/var
export SECRET_KEY=${SECRET_KEY:-load-test-only-0123456789abcdefghijklmnopqrstuvwxyz}
export TOKEN_RATE=100000/minute LOGIN_RATE=100000/minute
unset REDIS_URL
if [ ! -f "$MEDSERVICE_VAR_DIR/static/staticfiles.json" ]; then
  $bin/medservice collectstatic --no-input -v0
fi
$bin/medservice serve --port "$port" --workers "${LOAD_WEB_WORKERS:-4}" >"$out/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.5; done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
rc=0
$bin/locust -f bench/load.py --headless -u "${LOAD_USERS:-50}" -r 10 -t "${LOAD_TIME:-3m}" \
  --host "http://127.0.0.1:$port" --csv "$out/load" --only-summary || rc=$?
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "5xx in the access log: $(grep -cE '" 5[0-9]{2} ' "$out/serve.log" || true)"
exit "$rc"
