# The README's two commands: `make figures` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The local CPU build of torch lives here on the project's machines; elsewhere pip uses the index.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
export MPLBACKEND := Agg

.PHONY: figures test bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(FIND_LINKS) -c constraints.txt -e '.[dev]'
	touch $(STAMP)

figures: $(STAMP)
	$(BIN)/smr-stability figures --out figures

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_simulation.py
	$(BIN)/python benchmarks/bench_divergence.py
	$(BIN)/python benchmarks/bench_lyapunov.py
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
