# The two commands of the README: `make fuzz` (the main job) and `make test`.
# Both set up what they need: Debian packages (.ci/system-deps) and a .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
FUZZ_SECONDS ?= 600
JOBS   ?= auto

.PHONY: test fuzz deps bench lint typecheck clean

$(STAMP): pyproject.toml .ci/system-deps
	bash .ci/system-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

deps: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -n $(JOBS) -q tests fuzz

fuzz: $(STAMP)
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(PY) -m pytest -q fuzz -p no:cacheprovider \
		--hypothesis-profile=fuzz --hypothesis-show-statistics

bench: $(STAMP)
	$(PY) bench/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check linker oracle fuzz tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy linker oracle fuzz bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
