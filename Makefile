# MedService: `make run` serves the demo, `make test` runs the suite. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PORT ?= 8000
PYTEST_ARGS ?=
WORKERS ?= 2
CJK_FONT_CHECK := fc-list :lang=zh 2>/dev/null | grep -q .
# WeasyPrint (service reports) draws text with Pango.
PANGO_CHECK := ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0

.PHONY: run test setup system-packages browser-packages lint format migrations-check schemathesis audit scale-smoke load-test clean

$(UV):
	@$(PYTHON) -m pip install --quiet --user uv 2>/dev/null || $(PYTHON) -m pip install --quiet uv || \
	  { echo "Cannot install uv. Run: $(PYTHON) -m pip install uv"; exit 1; }

$(BIN)/medservice: pyproject.toml uv.lock | $(UV)
	@UV=$$(command -v uv || echo $(HOME)/.local/bin/uv); $$UV sync --frozen --quiet
	@touch $@

setup: $(BIN)/medservice system-packages

# CJK fonts and Pango for the Chinese PDFs (service reports, AE forms).
system-packages:
	@if ! $(PANGO_CHECK); then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Pango for PDFs (libpango-1.0-0 libpangoft2-1.0-0)..."; \
	    (apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null 2>&1 || \
	     (apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null)) ; \
	  else \
	    echo "MedService needs Pango for PDFs. Run: sudo apt-get install -y libpango-1.0-0 libpangoft2-1.0-0"; exit 1; \
	  fi; \
	fi
	@if ! $(CJK_FONT_CHECK); then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing CJK fonts (fonts-noto-cjk)..."; \
	    (apt-get install -y -qq fonts-noto-cjk fontconfig >/dev/null 2>&1 || \
	     (apt-get update -qq && apt-get install -y -qq fonts-noto-cjk fontconfig >/dev/null)) ; \
	  else \
	    echo "MedService needs CJK fonts for PDFs. Run: sudo apt-get install -y fonts-noto-cjk fontconfig"; exit 1; \
	  fi; \
	fi
# issue 12 intake: the e-mail intake tests read a real IMAP server (Dovecot, started per test).
	@if [ ! -x /usr/sbin/dovecot ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Dovecot for the IMAP intake tests (dovecot-imapd)..."; \
	    (apt-get install -y -qq dovecot-imapd >/dev/null 2>&1 || \
	     (apt-get update -qq && apt-get install -y -qq dovecot-imapd >/dev/null)) ; \
	  else \
	    echo "The IMAP intake tests need Dovecot (they skip without it). Run: sudo apt-get install -y dovecot-imapd"; \
	  fi; \
	fi

# Debian's Chromium drives the browser tests (Playwright's own browser download is not used).
browser-packages:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium for the browser tests..."; \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	     (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)); \
	  else \
	    echo "The browser tests need Chromium. Run: sudo apt-get install -y chromium"; exit 1; \
	  fi; \
	fi

run: setup
	@MEDSERVICE_DEMO=1 $(BIN)/medservice migrate --no-input -v0
	@MEDSERVICE_DEMO=1 $(BIN)/medservice seed-demo
	@echo ""
	@echo "  MedService: http://127.0.0.1:$(PORT)/   (API docs: http://127.0.0.1:$(PORT)/api/v1/docs/)"
	@echo "  Demo logins (password for all: demo-pass-2026):"
	@echo "    admin  manager  agent  engineer  dist_engineer  quality  qa_manager"
	@echo "    warehouse  finance  store  auditor  customer  secadmin  auditadmin"
	@echo "  Ctrl-C stops the web server, the worker and the scheduler."
	@echo ""
	@MEDSERVICE_DEMO=1 PORT=$(PORT) exec $(BIN)/medservice serve --port $(PORT)

test: setup browser-packages
	@$(BIN)/pytest -n $(WORKERS) $(PYTEST_ARGS)

lint: $(BIN)/medservice
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

format: $(BIN)/medservice
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

migrations-check: $(BIN)/medservice
	@MEDSERVICE_DEMO=1 $(BIN)/medservice makemigrations --check --dry-run

schemathesis: $(BIN)/medservice
	@bash scripts/schemathesis.sh

# issue 12 security: pip-audit over uv.lock; fails on a known vulnerability, reports (and
# passes) when the vulnerability service cannot be reached.
audit: $(BIN)/medservice
	@bash scripts/audit.sh

# issue 12 several machines: PostgreSQL, moto's S3, 2 gunicorns, 2 RQ workers, 2 schedulers on
# this machine, and a smoke scenario through them (scripts/scale_smoke.py; docs/operations.md).
scale-smoke: $(BIN)/medservice
	@$(BIN)/python scripts/scale_smoke.py

# Not in CI: 50 users for LOAD_TIME through gunicorn on the benchmark database (bench/load.py
# says how to build it). The token and login throttles are raised: 50 users sign in at once.
LOAD_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/medservice_loadbench
LOAD_PORT ?= 18250
LOAD_USERS ?= 50
LOAD_TIME ?= 3m
LOAD_WEB_WORKERS ?= 4
load-test: $(BIN)/medservice
	@LOAD_DATABASE_URL=$(LOAD_DATABASE_URL) LOAD_PORT=$(LOAD_PORT) LOAD_USERS=$(LOAD_USERS) \
	  LOAD_TIME=$(LOAD_TIME) LOAD_WEB_WORKERS=$(LOAD_WEB_WORKERS) bash bench/load-test.sh

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
