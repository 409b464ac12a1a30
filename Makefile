# Two commands for a newcomer: `make book` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book
VENDOR := _vendor/.stamp

# One BLAS thread: the chapters' matrices are small, and threads spinning on two shared cores
# cost up to 20× in wall time (measured). Override with `make OPENBLAS_NUM_THREADS=2 ...`.
OPENBLAS_NUM_THREADS ?= 1
OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS OMP_NUM_THREADS

# Each chapter saves its check report here as it runs; the "Does it reproduce?" page gathers them.
DMFNB_REPORTS ?= $(CURDIR)/_build/reports
export DMFNB_REPORTS

.PHONY: book test lint bench bench-paper browser assignments clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Widget scripts served by the site itself (npm registry, at set-up time, like pip).
$(VENDOR): scripts/vendor-widget-js.sh
	bash scripts/vendor-widget-js.sh _vendor

# Sphinx copies the book's own stylesheet and script (book/static) only when a page changes:
# after editing them, rebuild every page (the chapters' execution stays cached).
STATIC_FRESH = $(shell for f in book/static/*; do \
  cmp -s "$$f" "_build/html/_static/$$(basename $$f)" || { echo --all; break; }; done)

book: $(STAMP) $(VENDOR)  ## execute the chapters (cached) and build the site into _build/html
	$(JB) build . --keep-going $(STATIC_FRESH)
	@echo "Open file://$(CURDIR)/_build/html/index.html"

# pytest's workers (pytest-xdist): each test file, and so each chapter's cells, stays on one
# worker. Two workers on the two cores: see the README for the measured times.
PYTEST_WORKERS ?= 2

# Strict build first (warnings are errors, a failing cell fails it), then pytest: unit tests,
# every chapter under nbval, and the built site in headless Chromium.
test: $(STAMP) $(VENDOR) browser
	$(BIN)/ruff check dmfnb tests benchmarks book
	$(JB) build . --all -W -n --keep-going
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check dmfnb tests benchmarks book

bench: $(STAMP)  ## speed ratios: engine vs numpy.matmul, batched vs looped
	$(BIN)/python benchmarks/bench_engine.py

bench-paper: $(STAMP)  ## iteration counts, the paper-scale completion sweep, SCS vs ADMM (~25 min)
	$(BIN)/python benchmarks/bench_sweep.py --jobs 2 --long
	$(BIN)/python benchmarks/bench_nuclear.py

assignments: $(STAMP)  ## student notebooks (answers stubbed) and instructor notebooks
	$(BIN)/python -m dmfnb assignments --book book --out assignments

# Chromium for the site test, from Debian's packages when we may install them; otherwise the
# site test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium not installed and not root: the browser test will be skipped"; fi; }

clean:
	rm -rf _build .jupyter_cache assignments _vendor
