# Developer shortcuts. ./run stays the entry point for running a node and the tests; these
# targets assume the virtualenv it creates (.venv) and never create it themselves.

PYTHON := .venv/bin/python
VENV_HINT := .venv/bin/python is missing: run ./run tests first (it creates .venv with the tools)

.PHONY: bench test lint migrations venv-check

# Every bench/*_bench.py, one after the other (never in parallel: they measure the machine).
# One that fails (inbox_bench.py needs wrk) does not keep the others from running; the target
# fails at the end, naming it. BENCH_POSTGRES=URL (a PostgreSQL server) adds the inbox benchmark
# on a throwaway database there, with BENCH_PROCESSES (2) processes.
BENCH_POSTGRES ?=
BENCH_PROCESSES ?= 2
bench: venv-check
	@failed=""; for script in bench/*_bench.py; do \
		echo "== $$script"; \
		$(PYTHON) "$$script" || failed="$$failed $$script"; \
	done; \
	if [ -n "$(BENCH_POSTGRES)" ]; then \
		echo "== bench/inbox_bench.py on PostgreSQL, $(BENCH_PROCESSES) processes"; \
		$(PYTHON) bench/inbox_bench.py --postgres "$(BENCH_POSTGRES)" \
			--processes $(BENCH_PROCESSES) || failed="$$failed inbox_bench.py(postgres)"; \
	fi; \
	if [ -n "$$failed" ]; then echo "failed:$$failed" >&2; exit 1; fi

test:
	./run tests

# The same gates as .ci/run (mypy included, as the README says).
lint: venv-check
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy

# New tortoise migration from model changes; prints "No changes detected" when there are none.
# Run from the repo root: tortoise's CLI puts "." on sys.path to import the config module.
migrations: venv-check
	.venv/bin/tortoise -c scripts.tortoise_config.TORTOISE_ORM makemigrations

venv-check:
	@test -x $(PYTHON) || { echo "$(VENV_HINT)" >&2; exit 1; }
