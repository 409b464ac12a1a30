# Two commands for a newcomer: `make book` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test unit notebooks lint bench clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

book: $(STAMP)  ## build the site into _build/html (executes chapters, cached)
	$(BIN)/jupyter-book build . --keep-going
	@echo "Open $(CURDIR)/_build/html/index.html"

test: $(STAMP)  ## unit tests + every chapter under nbval, then a strict build of the book
	$(BIN)/ruff check dmfnb tests benchmarks
	$(BIN)/python -m pytest
	$(BIN)/jupyter-book build . --all -W -n --keep-going

lint: $(STAMP)
	$(BIN)/ruff check dmfnb tests benchmarks

bench: $(STAMP)  ## speed ratios (engine vs numpy.matmul, batched vs looped)
	$(BIN)/python benchmarks/bench_engine.py

clean:
	rm -rf _build .jupyter_cache
