# The hub's everyday commands. Everything installs into .venv inside the clone; nothing is
# cached outside it (pip's cache lives in .cache/).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_CACHE_DIR := $(CURDIR)/.cache/pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PLAYWRIGHT_BROWSERS_PATH := $(CURDIR)/.cache/ms-playwright
# Two installs, each with its own stamp: `make run` needs only the hub's own dependencies;
# the tests, linters and benchmarks add the `test` extras (pytest, Playwright, mypy, scikit-learn...).
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/pytest -p no:cacheprovider

.PHONY: train-culture train-triage cv-route run test test-sqlite test-postgres lint bench eval install chromium peers train-offensive graph screenshots translations clean

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip > $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	$(BIN)/pip install -q -e . > $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	$(BIN)/python -c "import hub, connectors, policies"
	touch $(RUN_STAMP)

# the test install is a superset of the run install: it satisfies `make run` too
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip > $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	$(BIN)/pip install -q -e '.[test]' > $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	$(BIN)/python -c "import hub, connectors, policies"
	touch $(STAMP) $(RUN_STAMP)

.PHONY: install-run
install-run: $(RUN_STAMP)

install: $(STAMP)

## Start the hub on http://127.0.0.1:5000 with the demo company loaded (no test extras).
run: install-run
	$(BIN)/hub init
	$(BIN)/hub demo
	@# the hub reads HUB_SANDBOX_ENABLED as JSON: false and 0 switch the sandbox off
	@case "$${HUB_SANDBOX_ENABLED:-true}" in false|0) ;; *) \
	  echo "Note: /sandbox/ is a demo platform: anyone who can reach this hub can post on it"; \
	  echo "without signing in (never as the brand). HUB_SANDBOX_ENABLED=false switches it off.";; esac
	HUB_DEMO_TRICKLE_SECONDS=$${HUB_DEMO_TRICKLE_SECONDS:-45} $(BIN)/hub run

## Debian's Chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "could not install chromium: run 'sudo apt-get install chromium'"; exit 1; }; }

## The real Bluesky servers (@atproto/dev-env) and Node 22, installed inside tests/peers/.
peers:
	@if [ -x tests/peers/bluesky/install.sh ]; then bash tests/peers/bluesky/install.sh; fi

## Every test on SQLite, then the database-backed tests (and tests/deploy's cluster) on PostgreSQL (127.0.0.1:5432).
# Two workers, whole files per worker (the Bluesky network and browser stay in one process each),
# longest files first (tests/conftest.py orders them; xdist's own order, by number of tests,
# left the minute-long browser files for last).
XDIST := -n 2 --dist loadfile --no-loadscope-reorder

test: install chromium peers
	$(PYTEST) $(XDIST) tests
	HUB_TEST_DB=postgresql $(PYTEST) $(XDIST) tests/hub tests/api tests/webhooks tests/e2e tests/deploy --ignore=tests/deploy/test_compose.py
	@# six containers of their own: alone, after the rest (skipped, saying why, without Docker;
	@# bash tests/deploy/compose/run.sh makes a machine ready for it)
	HUB_TEST_DB=postgresql $(PYTEST) tests/deploy/test_compose.py

test-sqlite: install
	$(PYTEST) tests

test-postgres: install
	HUB_TEST_DB=postgresql $(PYTEST) tests/hub tests/api tests/webhooks tests/e2e tests/deploy --ignore=tests/deploy/test_compose.py
	HUB_TEST_DB=postgresql $(PYTEST) tests/deploy/test_compose.py

lint: install
	$(BIN)/ruff check hub connectors policies tests bench
	$(BIN)/ruff format --check hub connectors policies
	$(BIN)/mypy

bench: install
	$(BIN)/pip install -q -e '.[bench]' > $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

eval: install
	$(BIN)/hub policy eval ../shared/data/policy-eval/public.jsonl --dev tests/data/culture-blind.jsonl --dev tests/data/culture-blind2.jsonl --dev tests/data/culture-blind3.jsonl --dev tests/data/culture-blind4.jsonl --dev tests/data/culture-blind5.jsonl --dev tests/data/culture-blind6.jsonl --dev tests/data/culture-blind7.jsonl --dev tests/data/culture-blind8.jsonl --dev tests/data/culture-blind9.jsonl --dev tests/data/culture-blind10.jsonl --dev tests/data/culture-blind11.jsonl --dev tests/data/culture-blind12.jsonl --dev tests/data/culture-blind13.jsonl --held-out tests/data/culture-blind14.jsonl --held-out tests/data/culture-blind15.jsonl --held-out tests/data/culture-blind16.jsonl --held-out tests/data/culture-blind17.jsonl
	$(BIN)/hub policy eval-offensive ../shared/data/tweeteval/offensive/val_text.txt ../shared/data/tweeteval/offensive/val_labels.txt
	$(BIN)/hub route eval ../shared/data/mentions/public.jsonl --json
	$(BIN)/hub route eval tests/data/mentions-blind.jsonl --json
	$(BIN)/hub route eval tests/data/mentions-blind2.jsonl --json
	$(BIN)/hub route eval tests/data/mentions-blind3.jsonl --json
	$(BIN)/hub route eval tests/data/mentions-blind4.jsonl --json

## Refit the triage model (hub/engagement/models/triage.json.gz; see bench/train_triage.py).
train-triage: install
	$(BIN)/python bench/train_triage.py

## Out-of-fold routing figures (development part and writers' mentions; see bench/cv_route.py).
cv-route: install
	$(BIN)/python bench/cv_route.py --by-file

## Refit the learned tier of the culture check (policies/models/culture.json.gz; see bench/train_culture.py).
train-culture: install
	$(BIN)/python bench/train_culture.py

## Refit the shipped G3 model from ../shared/data/tweeteval (scikit-learn; see policies/models/).
train-offensive: install
	$(BIN)/python bench/train_offensive.py

## Re-extract the UI's strings, merge them into the es and zh catalogues, compile the .mo files.
# New or changed strings arrive untranslated (or fuzzy): translate them in the .po files, then
# run this again; tests/hub/test_i18n.py fails until every string is translated.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l --add-location=file --sort-output \
	  --omit-header -w 100 -o hub/translations/messages.pot .
	$(BIN)/pybabel update -i hub/translations/messages.pot -d hub/translations --ignore-obsolete -w 100
	$(BIN)/pybabel compile -d hub/translations --statistics

## Refresh the README's screenshots (tests/e2e/screenshots); ordinary test runs write elsewhere.
screenshots: install chromium
	HUB_README_SCREENSHOTS=1 $(PYTEST) tests/e2e

## hub/'s import graph: cycles, longest chain, commit sites (add --dot FILE for Graphviz).
graph: install
	$(BIN)/python bench/module_graph.py

clean:
	rm -rf $(VENV) .cache instance build dist *.egg-info
