# The README's two commands: `make figures` and `make test`. Both create .venv on first use,
# as does `make docs` (executes the notebooks, then `mkdocs build --strict` into site/).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The local CPU build of torch lives here on the project's machines; elsewhere pip uses the index.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
export MPLBACKEND := Agg

.PHONY: figures test lint format docs bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(FIND_LINKS) -c constraints.txt -e '.[dev]'
	touch $(STAMP)

figures: $(STAMP)
	$(BIN)/smr-stability figures --out figures

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

# ruff (pinned in constraints.txt, configured in pyproject.toml); `make test` runs the checks first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Needs node on PATH: KaTeX renders the formulas at build time (fetched once into ~/.cache).
docs: $(STAMP)
	$(BIN)/python docs/build_site.py --site site

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_simulation.py
	$(BIN)/python benchmarks/bench_divergence.py
	$(BIN)/python benchmarks/bench_lyapunov.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_methods.py
	$(BIN)/python benchmarks/bench_sweeps.py
	$(BIN)/python benchmarks/bench_scan.py
	$(BIN)/python benchmarks/bench_table.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis site docs/tutorials docs/gallery docs/gallery.md docs/cli.md
