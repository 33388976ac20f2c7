# Two commands (see README): `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
# uv installs the pinned requirements: it downloads and unpacks the wheels in parallel,
# 5-10 s for the runtime set here where pip took 25 s (docs/performance.md, First
# start). Pinned like every dependency; it lives in the virtualenv, nothing global.
UV_VERSION := 0.13.8
UV     := $(VENV)/uv/bin/uv

.PHONY: run test test-fast test-deps lint bench db clean

# The virtualenv without pip (ensurepip alone takes seconds), uv from PyPI with the
# interpreter's own pip, or with pip bootstrapped into the virtualenv if it has none.
$(UV):
	$(PYTHON) -m venv --without-pip $(VENV)
	if $(PYTHON) -m pip --version >/dev/null 2>&1; then pip="$(PYTHON) -m pip"; \
	else $(PY) -m ensurepip --upgrade >/dev/null && pip="$(PY) -m pip"; fi; \
	$$pip install --quiet --disable-pip-version-check --target $(VENV)/uv uv==$(UV_VERSION)

$(VENV)/.runtime: requirements.txt | $(UV)
	$(UV) pip install --quiet --python $(PY) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(UV) pip install --quiet --python $(PY) -r requirements-dev.txt
	touch $@

## Install and start the dashboard (builds data/grid.duckdb with sample data on first start).
## The 月度通报 PDF needs a Chinese font: fonts-noto-cjk is installed if missing.
run: $(VENV)/.runtime
	scripts/install-system-deps --runtime
	@# First start: the sample database is built while the server starts; a visit
	@# meanwhile waits for this build rather than starting another (etl/init_db.py).
	@$(PY) -c "from store.paths import resolve_db_path as p; exit(p().exists())" \
	  && { $(PY) -m etl init & } || true
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
