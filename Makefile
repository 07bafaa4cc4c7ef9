# refportal: `make run` serves the portal with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := $(BIN)/flask --app refportal

.PHONY: install run test lint docs bench profile system-packages node-packages translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Compiled message catalogues (the referee's Spanish pages and e-mails).
CATALOGS := $(patsubst %.po,%.mo,$(wildcard refportal/translations/*/LC_MESSAGES/messages.po))
%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

install: $(STAMP) $(CATALOGS)

# Refresh the catalogue after changing translatable text: extract, then merge into each language.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o refportal/translations/messages.pot .
	$(BIN)/pybabel update -w 120 -i refportal/translations/messages.pot -d refportal/translations

# Development defaults; a .env file or the environment may override them.
run: export REFPORTAL_ENV ?= development
run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo ""
	@echo "  refportal:    http://$(HOST):$(PORT)/"
	@echo "  mail viewer:  http://$(HOST):$(PORT)/dev/mail/  (every e-mail the portal sends, with clickable links)"
	@echo ""
	$(FLASK) run --host $(HOST) --port $(PORT)

# Debian packages the tests run for real (program:package): Chromium for the browser tests (never a
# browser download of Playwright's own), nginx and Redis for the deployment test, dovecot as the bounce
# mailbox, clamd (clamav-daemon) as the document store's virus scanner (the tests give it signatures of
# their own; no freshclam). Installed as root with apt when missing; no service is started by the install
# (the tests start their own on loopback ports).
SYSTEM_PACKAGES := chromium:chromium nginx:nginx redis-server:redis-server dovecot:dovecot-imapd clamd:clamav-daemon
system-packages:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do program=$${pair%%:*}; \
	  command -v $$program >/dev/null 2>&1 || [ -x /usr/sbin/$$program ] || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's$$missing for the tests..."; \
	    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	    status=$$?; rm -f /usr/sbin/policy-rc.d; exit $$status; \
	  else echo "Missing$$missing and cannot install here: those tests will be skipped"; fi; fi

# pa11y (axe-core and HTML_CodeSniffer runners) for tests/e2e/test_pa11y.py: the versions locked in
# tests/e2e/pa11y/ installed from the npm registry into .node/ (git-ignored), reinstalled when the lock
# changes. Puppeteer downloads no browser (PUPPETEER_SKIP_DOWNLOAD, no install scripts): the test points
# it at Debian's Chromium. Without npm the step says so and the test is skipped (a failure under
# REFPORTAL_REQUIRE_ALL=1).
NODE_DIR := .node
PA11Y_FILES := tests/e2e/pa11y/package.json tests/e2e/pa11y/package-lock.json
$(NODE_DIR)/.installed: $(PA11Y_FILES)
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(NODE_DIR) && cp $(PA11Y_FILES) $(NODE_DIR)/ && \
	  cd $(NODE_DIR) && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && \
	  touch .installed; \
	else echo "npm is missing: pa11y is not installed and its test will be skipped"; fi
node-packages: $(NODE_DIR)/.installed

# Two pytest-xdist workers (a module stays on one worker; on PostgreSQL each has its own database,
# test_gw0 and test_gw1 beside TEST_DATABASE_URL's). PYTEST_ARGS= runs it in one process.
PYTEST_ARGS ?= -n 2 --dist loadfile
test: install system-packages node-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (lint: pycodestyle, pyflakes, bugbear, imports, pyupgrade, simplify; and the formatter) and mypy.
LINTED := refportal tests bench deploy setup.py
lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

# docs/configuration.md from the settings registry in refportal/config.py (tests/core/test_docs.py
# fails when the two differ).
docs: install
	$(BIN)/python -c 'from refportal.config import configuration_markdown; print(configuration_markdown(), end="")' > docs/configuration.md

# Key pages against their same-page floors and Flask's hello at 1k, 10k and 100k applications (needs
# PostgreSQL; installs wrk as root). `make profile`: each page's time by part of the stack (pyinstrument).
bench: install
	$(BIN)/python bench/run.py

profile: install
	$(BIN)/python bench/profile.py

clean:
	rm -rf $(VENV) $(NODE_DIR) instance .pytest_cache
