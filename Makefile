# commsplan – two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
PO_FILES := $(wildcard commsplan/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test test-sqlite test-postgres lint format migrate demo translations extract-messages bench clean browser dovecot

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

translations: $(MO_FILES)

## Debian's chromium for the browser tests in tests/browser/ (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "chromium could not be installed: the tests in tests/browser/ will be skipped"

## Debian's Dovecot IMAP server for the relay's mailbox tests in tests/relay/ (the fixture configures it in a tmp dir).
dovecot:
	@command -v dovecot >/dev/null 2>&1 || test -x /usr/sbin/dovecot || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq dovecot-imapd; } \
		|| echo "dovecot-imapd could not be installed: the IMAP tests in tests/relay/ will be skipped"

## Install, migrate, load the demo plan and start web app, delivery worker and mail catcher.
run: $(STAMP) translations
	$(FLASK) db upgrade
	$(FLASK) commsplan demo
	@bash scripts/run.sh

## Test-only JavaScript from the committed lock file: ICAL.js (Thunderbird's iCalendar
## parser, tests/feeds/test_recurring_series.py) and axe-core (tests/browser/test_axe*.py).
NODE_DEPS := tests/js/node_modules/.installed
$(NODE_DEPS): tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund
	@touch $@

## The whole test suite: SQLite always, PostgreSQL too when COMMSPLAN_TEST_DATABASE_URL is set.
## The browser tests (Chromium, axe-core) run too; PYTEST_ARGS='-m "not browser"' leaves them out.
test: $(STAMP) translations browser dovecot $(NODE_DEPS)
	env -u COMMSPLAN_TEST_DATABASE_URL $(BIN)/python -m pytest -q $(PYTEST_ARGS)
	@if [ -n "$$COMMSPLAN_TEST_DATABASE_URL" ]; then \
		echo "--- again on PostgreSQL ($$COMMSPLAN_TEST_DATABASE_URL)"; \
		$(BIN)/python -m pytest -q $(PYTEST_ARGS); \
	fi

lint: $(STAMP)
	$(BIN)/ruff check commsplan tests bench wsgi.py
	$(BIN)/ruff format --check commsplan tests bench wsgi.py

format: $(STAMP)
	$(BIN)/ruff format commsplan tests bench wsgi.py

migrate: $(STAMP)
	$(FLASK) db upgrade

## Refresh the message catalogue after changing UI text.
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --ignore-dirs '.* .venv' -k _l -k lazy_gettext -o commsplan/translations/messages.pot .
	$(BIN)/pybabel update -i commsplan/translations/messages.pot -d commsplan/translations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
