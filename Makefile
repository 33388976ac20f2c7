# Two commands (see README): `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501

.PHONY: run test test-fast test-deps lint bench db clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## Install and start the dashboard (builds data/grid.duckdb with sample data on first start).
## The 月度通报 PDF needs a Chinese font: fonts-noto-cjk is installed if missing.
run: $(VENV)/.runtime
	scripts/install-system-deps --runtime
	$(PY) -m streamlit run serve.py --server.port $(PORT)

## Install everything the tests need: test tools, Debian chromium, fonts-noto-cjk and nginx.
test-deps: $(VENV)/.dev
	scripts/install-system-deps

## The README's test command as one target.
test: test-deps
	$(PY) -m pytest

## Everything but the browser, slow and fuzz tests: the loop to run while you work.
test-fast: test-deps
	$(PY) -m pytest -n 2 -m "not browser and not slow and not fuzz"

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(VENV)/.dev
	$(PY) -m bench

db: $(VENV)/.runtime
	$(PY) -m etl init --force

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
