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
#   make fuzz    coverage-guided fuzzing of the MCP server's input (nightly, cargo-fuzz)

CARGO ?= cargo
SHELL := /bin/bash

.PHONY: demo test test-rust test-python lint bench doc ci venv fuzz

demo:
	$(CARGO) run -p atdm-examples --example main_job

test: test-rust test-python
	@cat target/test-rust.total target/test-python.total | awk '{p += $$2; f += $$4} END {printf "all: %d passed, %d failed\n", p, f}'

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
	@awk '/^test result:/ {p += $$4; f += $$6} END {printf "rust: %d passed, %d failed\n", p, f}' target/test-rust.log | tee target/test-rust.total

# The Python package: build the wheel with maturin, install it into a fresh virtual environment
# to prove it stands alone, then into ./.venv for the tests; check the stubs against the
# module; run pytest. Ends with "python: N passed, N failed".
WHEELS := target/wheels
test-python: venv
	@mkdir -p target
	@rm -rf $(WHEELS) target/wheel-check
	cd atdm-py && ../$(VENV)/bin/maturin build --quiet --out ../$(WHEELS)
	$(PYTHON) -m venv target/wheel-check
	target/wheel-check/bin/python -m pip install --quiet --disable-pip-version-check --no-index $(WHEELS)/atdm-*.whl
	target/wheel-check/bin/python -c "import atdm; e = atdm.Engine('sqlite://target/wheel-check/check.sqlite', 'memory://', pack='healthcare'); r = e.request('claim_denial_active_member'); e.reset_run(r['run_id'], r['token']); print('fresh venv: atdm', atdm.__version__, 'seeded and reset', r['run_id'])"
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps $(WHEELS)/atdm-*.whl
	$(VENV)/bin/python -m mypy.stubtest atdm._atdm atdm._types --mypy-config-file atdm-py/mypy.ini
	@set -o pipefail; $(VENV)/bin/python -m pytest atdm-py/tests -p no:cacheprovider -q -rs 2>&1 | tee target/test-python.log
	@awk '/ passed| failed| error/ {for (i = 1; i <= NF; i++) {if ($$(i+1) ~ /^passed/) p += $$i; if ($$(i+1) ~ /^(failed|errors?)/) f += $$i}} END {printf "python: %d passed, %d failed\n", p, f}' target/test-python.log | tail -1 | tee target/test-python.total

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

doc:
	$(CARGO) doc --workspace --no-deps --open

bench:
	$(CARGO) bench --workspace

# Coverage-guided fuzzing of the MCP server's input handling (needs the nightly toolchain and
# cargo-fuzz): FUZZ_SECONDS per target, new inputs kept in fuzz/corpus (not committed).
FUZZ_SECONDS ?= 600
fuzz:
	@mkdir -p fuzz/corpus/mcp_lines
	cd fuzz && cargo +nightly fuzz run mcp_lines corpus/mcp_lines seeds/mcp_lines -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536

# What CI runs (.ci/run): the README's test command with the database suites required.
ci: lint test
