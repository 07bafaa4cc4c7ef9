# refportal: `make run` serves the portal with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := $(BIN)/flask --app refportal

.PHONY: install run test bench chromium dovecot translations clean

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
	$(BIN)/pybabel update -i refportal/translations/messages.pot -d refportal/translations

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

# Browser tests drive Debian's Chromium (never a browser download of Playwright's own).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and cannot be installed here: the browser tests will be skipped"; fi; }

# The bounce-mailbox tests run Debian's dovecot (IMAP) in the foreground on a loopback port.
dovecot:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's dovecot-imapd for the IMAP tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	    systemctl disable --now dovecot >/dev/null 2>&1 || true; \
	  else echo "dovecot is missing and cannot be installed here: the IMAP tests will be skipped"; fi; }

test: install chromium dovecot
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Key pages against Flask's floor at 1k, 10k and 100k applications (needs PostgreSQL; installs wrk as root).
bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache
