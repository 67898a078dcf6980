# Every command of the project lives here; the README and CI call these targets, so local runs
# and CI never drift apart.
#
#   make demo    the main job on the embedded default (SQLite in ./.atdm)
#   make test    every test (Rust unit, integration and doc tests); PostgreSQL and MySQL suites
#                run when ATDM_TEST_POSTGRES_URL / ATDM_TEST_MYSQL_URL are set; first makes a
#                Python virtual environment in ./.venv with requirements-dev.txt (pyarrow
#                reads the Parquet the engine writes)
#   make lint    rustfmt, clippy (warnings are errors) and rustdoc
#   make bench   criterion benchmarks

CARGO ?= cargo
SHELL := /bin/bash

.PHONY: demo test test-rust lint bench doc ci venv

demo:
	$(CARGO) run --quiet -p atdm-examples --example main_job

test: test-rust

PYTHON ?= python3
VENV := .venv

# The test suite's Python: a virtual environment with requirements-dev.txt, remade when that
# file changes.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# Ends with one line that totals every test binary: "N passed, N failed".
test-rust: venv
	@mkdir -p target
	@export ATDM_TEST_PYTHON="$(CURDIR)/$(VENV)/bin/python" ATDM_REQUIRE_PYTHON=1; set -o pipefail; { $(CARGO) test --workspace --all-targets && $(CARGO) test --workspace --doc; } 2>&1 | tee target/test-rust.log
	@awk '/^test result:/ {p += $$4; f += $$6} END {printf "rust: %d passed, %d failed\n", p, f}' target/test-rust.log

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

doc:
	$(CARGO) doc --workspace --no-deps --open

bench:
	$(CARGO) bench --workspace

# What CI runs (.ci/run): the README's test command with the database suites required.
ci: lint test
