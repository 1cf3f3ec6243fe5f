# The two commands: `make run` (serve the portal with a demo form) and `make test` (the suite).
VENV   ?= .venv
PYTHON ?= python3
PIP     = $(VENV)/bin/pip
FLASK   = $(VENV)/bin/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Every link the portal writes (mails, embed_html, List-Unsubscribe) starts with PORTAL_BASE_URL:
# unless it is set, `make run` derives it from HOST and PORT (0.0.0.0 listens everywhere, links say 127.0.0.1).
RUN_BASE_URL := $(or $(PORTAL_BASE_URL),http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT))

.PHONY: run test install install-dev migrate translations extract clean

$(VENV)/.installed: requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PIP) install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

translations: install
	@if [ -d translations ]; then $(VENV)/bin/pybabel compile -f -d translations; fi

# After changing user-visible strings: refresh the catalogs, then translate what is new.
extract: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot --no-location --sort-output .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

migrate: install
	$(FLASK) db upgrade

# Development: PORTAL_DEVELOPMENT=1 adds the dev inbox (/_dev/mail) and the demo customer site (/_dev/site),
# which answer this machine only (PORTAL_DEV_ALLOW_REMOTE=1 opens them to others).
run: export PORTAL_BASE_URL := $(RUN_BASE_URL)
run: export PORTAL_DEVELOPMENT ?= 1
# Development seals the ledger every 15 s, events 5 s old: proof bundles show sealed events at once.
run: export PORTAL_LEDGER_SEAL_GRACE_SECONDS ?= 5
run: install translations migrate
	@# The outbox worker (mail lands in instance/outbox/ without MAIL_SERVER), the import worker
	@# and the ledger sealer run beside the server and stop with it; they start at a lower
	@# priority (the server first) and without their start-up lines, and `demo --serve` prints the
	@# block of URLs and a new demo platform key once the server listens: the block is the last
	@# thing before the request log.
	nice $(FLASK) outbox work >/dev/null & worker=$$!; \
	nice $(FLASK) imports work >/dev/null & importer=$$!; \
	nice $(FLASK) ledger seal --every 15 >/dev/null & sealer=$$!; \
	trap 'kill $$worker $$importer $$sealer 2>/dev/null; wait $$worker $$importer $$sealer 2>/dev/null' EXIT INT TERM; \
	$(FLASK) demo --serve --host $(HOST) --port $(PORT)

test: install-dev translations
	$(VENV)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
