# Every target sets up what it needs: a .venv with the package, and Debian packages for tests.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages the tests use (etcd-server, etcd-client, prometheus, chromium join as tests need them).
APT_PACKAGES := etcd-server etcd-client

.PHONY: demo test lint typecheck contracts pytest bench clean system-deps venv

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Installs the Debian packages the tests use, only when something is missing.
system-deps:
	@missing=""; \
	command -v kubectl >/dev/null 2>&1 || missing="$$missing kubernetes-client"; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The whole lifecycle on the embedded cluster (preflight, backup, plan, apply, validation, the record),
# in under a minute; the files go to out/demo. `overhaul demo --keep` leaves the cluster serving for kubectl.
demo: $(STAMP)
	$(VENV)/bin/overhaul demo --out out/demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy
	cd benchmarks && ../$(VENV)/bin/mypy --strict *.py  # the benchmarks import each other as scripts

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

# Two workers, a test file each at a time: a file's tests share its clusters, and most of the
# suite's time is spent waiting on simulated clusters, not on the CPU.
pytest: $(STAMP) system-deps
	$(VENV)/bin/pytest -q -n 2 --dist loadfile

test: $(STAMP) system-deps lint typecheck contracts pytest

bench: $(STAMP) system-deps
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
