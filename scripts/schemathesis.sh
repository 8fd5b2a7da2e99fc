#!/usr/bin/env bash
# A short property-based run of the whole API against a seeded embedded server: no 5xx allowed.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
port=${SCHEMATHESIS_PORT:-8799}
export MEDSERVICE_DEMO=1 MEDSERVICE_VAR_DIR="$work" PORT="$port"
unset DATABASE_URL
bin=.venv/bin
$bin/medservice migrate --no-input -v0
$bin/medservice seed-demo >/dev/null
# A superuser reaches every operation; the demo roles would leave some answering only 403.
$bin/medservice shell -c "
from medservice.accounts.models import User
from medservice.customers.models import Organization
user = User(username='fuzzer', is_superuser=True, is_staff=True, organization=Organization.objects.get(name='康达医疗器械有限公司'))
user.set_password('demo-pass-2026'); user.save()" >/dev/null
# A generous token rate: the fuzzer is not an attacker.
TOKEN_RATE=100000/minute LOGIN_RATE=100000/minute $bin/medservice serve --port "$port" --workers 2 \
  >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.5; done
token=$(curl -sf -X POST -d "username=fuzzer&password=demo-pass-2026" \
  "http://127.0.0.1:$port/api/v1/auth/token/" | $bin/python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
$bin/schemathesis run "http://127.0.0.1:$port/api/v1/schema/?format=json" \
  --url "http://127.0.0.1:$port" \
  -H "Authorization: Token $token" \
  --checks not_a_server_error \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-15}" \
  --exclude-path-regex '^/api/v1/auth/token/$' \
  --request-timeout 20
