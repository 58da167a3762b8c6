# The README's commands. `make demo` runs the main job, `make test` everything CI runs.
# Needs only Rust (cargo) and Python >= 3.11 on the machine; the rest installs into .venv.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test build bench lint rust-test py-test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "maturin>=1.7,<2"
	touch $(STAMP)

# Release build (timings from debug builds are meaningless). A stale version-specific .so
# next to the abi3 one would shadow it, so old builds go first.
build: $(STAMP)
	rm -f python/loopwatch/_core*.so
	$(VENV)/bin/maturin develop --release --extras test,bench --quiet

# The main job: simulate, label, measure, report (see the README). Writes ./loopwatch-demo/.
demo: build
	$(VENV)/bin/loopwatch demo

lint: build
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --release -- -D warnings
	$(VENV)/bin/ruff check python tests benches
	$(VENV)/bin/ruff format --check python tests benches
	$(VENV)/bin/mypy --strict python/loopwatch
	$(PY) -m mypy.stubtest loopwatch._core

rust-test:
	cargo test --release -p loopwatch-core

py-test: build
	$(PY) -m pytest -q tests

test: lint rust-test py-test

bench: build
	$(PY) benches/run_label_join.py

clean:
	rm -rf $(VENV) target python/loopwatch/_core*.so
