#!/usr/bin/env bash
# Dependency audit: pip-audit over the locked requirements (uv.lock, exported without hashes).
#   exit 1 - a known vulnerability was found in a locked package (CI fails), or the audit broke;
#   exit 0 - no known vulnerability among the packages checked, OR the vulnerability service
#            could not be reached. The latter is REPORTED as "NOT RUN" (this network reaches only
#            PyPI, Debian and npm): an audit that could not run is neither a failure nor a pass.
# AUDIT_SERVICE=osv|pypi chooses pip-audit's service (default pypi).
set -uo pipefail
cd "$(dirname "$0")/.."
UV=$(command -v uv || echo "$HOME/.local/bin/uv")
service=${AUDIT_SERVICE:-pypi}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$UV" export --frozen --no-hashes --no-emit-project --all-groups --format requirements-txt \
  >"$work/requirements.txt" || { echo "dependency audit: cannot export uv.lock" >&2; exit 1; }

# --no-deps: the export is the complete, pinned set; --disable-pip: nothing is installed.
.venv/bin/pip-audit --vulnerability-service "$service" --no-deps --disable-pip \
  --progress-spinner off --desc on --format json --output "$work/report.json" \
  -r "$work/requirements.txt" 2>"$work/err.txt"
status=$?

if [ ! -s "$work/report.json" ]; then
  cat "$work/err.txt" >&2
  if grep -qiE "connection|resolve|timed? ?out|network|unreachable|SSL|Max retries|proxy" \
    "$work/err.txt"; then
    echo "dependency audit: NOT RUN - the vulnerability service ($service) could not be reached" \
      "from this machine; nothing was checked. Run 'make audit' where it can be reached."
    exit 0
  fi
  echo "dependency audit: pip-audit failed (exit $status); see above" >&2
  exit 1
fi

.venv/bin/python scripts/audit_report.py "$work/report.json" "$service"
