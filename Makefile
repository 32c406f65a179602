# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-redis test-all pythons servers lint typecheck unit run bench fmt clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

## demo: the embedded MDE simulator, the bot and a local Slack stand-in, end to end, then exit
demo: $(STAMP)
	$(BIN)/mde-bot demo

## test: everything CI checks
test: lint typecheck unit

## test-redis: the whole suite with every bot's state shared on a real Redis (MDE_TEST_REDIS=1)
test-redis: $(STAMP)
	MDE_TEST_REDIS=1 $(BIN)/pytest -q

# The supported Pythons, from PATH or, where pyenv keeps them beside its global one, from pyenv.
PYENV_BINS := $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.1[123].*/bin)
empty :=
space := $(empty) $(empty)
PYTHONS_PATH := $(subst $(space),:,$(PYENV_BINS))
WITH_PYTHONS := PATH="$(PYTHONS_PATH)$(if $(PYTHONS_PATH),:)$$PATH"

## test-all: the tests on Python 3.11, 3.12 and 3.13 (tox; needs each interpreter)
test-all: $(STAMP)
	$(WITH_PYTHONS) $(BIN)/tox run

## pythons: succeeds when Python 3.11, 3.12 and 3.13 are all on hand (for .ci/run)
pythons:
	@$(WITH_PYTHONS); for v in 3.11 3.12 3.13; do command -v python$$v >/dev/null || { echo "python$$v missing"; exit 1; }; done

## servers: the Debian packages of the real servers the tests start (redis-server, postgresql);
## as root with apt-get (CI), installs those missing, else says what to install
servers:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v postgres >/dev/null || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || \
	  missing="$$missing postgresql"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "make servers: the tests need$$missing: apt-get install -y$$missing"; exit 1; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

## run: the bot against a real workspace and real MDE, settings from .env
run: $(STAMP)
	$(BIN)/mde-bot serve

## bench: benchmarks (about 17 min; ARGS=--quick for about 5 min); writes bench/results/
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	@# Section 9 (phone) draws the cards with headless Chromium; as root on Debian (CI), install it.
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium fonts-lato fonts-noto-color-emoji; } || echo "make bench: chromium not installed"; \
	else echo "make bench: section 9 needs chromium: apt-get install chromium fonts-lato fonts-noto-color-emoji"; fi
	@# Section 11 (replicas) starts a real redis-server and PostgreSQL; as root (CI), install them.
	@$(MAKE) --no-print-directory servers || echo "make bench: section 11 needs redis-server and postgresql"
	$(BIN)/python -m bench $(ARGS)

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .tox .mypy_cache .pytest_cache .ruff_cache .hypothesis
