# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run PORT=8100`: the demo listens there and its links use it.
PORT ?= 8000

.PHONY: run test lint typecheck unit messages lock clean system-deps bench bench-deps screenshots

$(STAMP): requirements/base.txt requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements/base.txt -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-build-isolation --no-deps -e .
	touch $(STAMP)

# In Python (polib, in the lock file): no GNU gettext needed to run the demo.
messages: $(STAMP)
	$(BIN)/python -m zegel.core.catalogues

run: $(STAMP) messages
	$(BIN)/zegel demo 127.0.0.1:$(PORT)

# Debian packages the tests need: a browser for Playwright, PostgreSQL, gettext (msgfmt -c for
# translators; the catalogues themselves compile without it).
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy zegel

unit: $(STAMP) messages
	ZEGEL_DATA_DIR=$$(mktemp -d /tmp/zegel-test.XXXXXX) $(BIN)/pytest -q -p no:cacheprovider

# Tests get their own data dir, so they never touch var/ of a running demo.
# Both passes run on TEST_WORKERS processes (pytest-xdist), a test file per process at a time.
TEST_WORKERS ?= 2
test: system-deps $(STAMP) messages lint typecheck
	ZEGEL_DATA_DIR=$$(mktemp -d /tmp/zegel-test.XXXXXX) tests/postgres.sh $(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

# The pictures in README.md and docs/img/, from a real browser run (tests/e2e/test_screenshots.py).
screenshots: system-deps $(STAMP) messages
	ZEGEL_DATA_DIR=$$(mktemp -d /tmp/zegel-test.XXXXXX) ZEGEL_SCREENSHOTS=$(CURDIR)/docs/img $(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_screenshots.py

# The HTTP benchmark compares Zegel with a private nginx it starts itself (no root needed then).
bench-deps:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { \
	  echo "Installing: nginx"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	}

bench: bench-deps $(STAMP)
	$(BIN)/python bench/crypto_write.py
	$(BIN)/python bench/http_roundtrip.py
	$(BIN)/python bench/dlp_speed.py
	$(BIN)/python bench/send_throughput.py
	$(BIN)/python bench/portal_latency.py
	$(BIN)/python bench/send_cost_growth.py

lock:
	$(PYTHON) -m venv /tmp/zegel-lock && /tmp/zegel-lock/bin/pip install --quiet pip-tools
	cd requirements && /tmp/zegel-lock/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras -o base.txt base.in
	cd requirements && /tmp/zegel-lock/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras -o dev.txt dev.in

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
