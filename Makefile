# Set-up for a fresh machine: `make run` (the main job) and `make test` (the whole suite).
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: install run test bench lint clean sysdeps fuzz compat

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# System packages the tests use (compilers, LLVM tools, bpftool, bpftrace, prometheus,
# tmux, iproute2...): installed with apt-get as root; fails when one is missing and
# cannot be installed. `make run` and the library itself need none of them.
sysdeps:
	@sh tools/install-sysdeps.sh

run: install
	$(PY) -m ebpf.demo

test: install
	$(PY) -m pytest -q

# Our tools side by side with Debian's bpftrace tools on the same workloads (root,
# bpftrace from `make sysdeps`); reports what each saw. Not part of CI.
compat: install
	$(PY) tools/compat.py

bench: install
	$(PY) benchmarks/run.py

# Bounded coverage-guided fuzzing (a few minutes): ELF, BTF, decoder, assembler.
# FUZZ_TIME seconds per target; crashes land in build/fuzz/crashes and fail the run.
FUZZ_TIME ?= 45
fuzz: install
	$(PY) -m pip install -q -e '.[test,fuzz]'
	$(PY) tools/fuzz.py --time $(FUZZ_TIME)

lint: install
	$(VENV)/bin/ruff check src tests benchmarks examples tools
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
