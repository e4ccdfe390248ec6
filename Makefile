# The two commands of the README: `make fuzz` (the main job) and `make test`.
# Both set up what they need: Debian packages (.ci/system-deps) and a .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
FUZZ_SECONDS ?= 600
FUZZ_WORKERS ?= $(shell nproc)
FUZZ_PORT ?= 0
JOBS   ?= auto

.PHONY: test fuzz fuzz-pytest fuzz-hostile deps bench lint typecheck clean real-projects mold-suite heldout-programs heldout-macho

$(STAMP): pyproject.toml .ci/system-deps
	bash .ci/system-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

deps: $(STAMP)

# A link server started by the tests' links through the shims leaves 30 s after the last.
test: $(STAMP)
	LINKHARNESS_SERVER_IDLE=30 $(PY) -m pytest -n $(JOBS) -q tests fuzz

# A HypoFuzz campaign over every property in fuzz/ on every core (fuzz/campaign.py), its
# dashboard on 127.0.0.1 while it runs, then a table per property: examples, examples/s,
# failures.  LINKHARNESS_FUZZ_DB=redis://HOST:PORT shares the campaign between machines;
# FUZZ_ARGS='-- fuzz/test_i386.py' narrows it; FUZZ_ARGS=--together for runs of hours.
fuzz: $(STAMP)
	$(PY) -m fuzz.campaign --seconds $(FUZZ_SECONDS) --workers $(FUZZ_WORKERS) \
		--port $(FUZZ_PORT) $(FUZZ_ARGS)

# The same properties under plain pytest's fuzz profile, one process (what `linkharness
# hunt` runs): each property repeats for its share of FUZZ_SECONDS.
fuzz-pytest: $(STAMP)
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(PY) -m pytest -q fuzz -p no:cacheprovider \
		--hypothesis-profile=fuzz --hypothesis-show-statistics

# Coverage-guided hostile-input campaign (atheris): each target (a reader through
# linker.link, or an executable through the checker, field oracle and emulator's loaders)
# for its share of FUZZ_SECONDS; a rule-breaking input is written to tests/hostile/cases/.
HOSTILE_TARGETS ?= elf64-object elf32-object archive shared-object script macho64-object \
	macho32-object tbd elf64-exe elf32-exe macho64-exe macho32-exe \
	macho64-dylib-input macho32-dylib-input relocatable version-script macho64-tlv-object \
	macho64-dwarf-object macho32-dwarf-object elf64-so elf32-so elf64-pie elf32-pie \
	macho64-dylib macho32-dylib gcc-object gcc-shared-object clang-macho-archive \
	clang-fat-object system-so-run
fuzz-hostile: $(STAMP)
	@per=$$(( $(FUZZ_SECONDS) / $(words $(HOSTILE_TARGETS)) )); [ $$per -ge 5 ] || per=5; \
	mkdir -p build/hostile; finds=0; for t in $(HOSTILE_TARGETS); do \
		$(PY) -m fuzz.hostile.atheris_main $$t $$per > build/hostile/$$t.log 2>&1; \
		runs=$$(grep -o 'number_of_executed_units: *[0-9]*' build/hostile/$$t.log | grep -o '[0-9]*$$'); \
		rate=$$(grep -o 'average_exec_per_sec: *[0-9]*' build/hostile/$$t.log | grep -o '[0-9]*$$'); \
		found=$$(grep -c '^HOSTILE FIND' build/hostile/$$t.log); finds=$$((finds + found)); \
		echo "$$t: $${runs:-?} inputs, $${rate:-?}/s, $$found broke a rule (log: build/hostile/$$t.log)"; \
		grep '^HOSTILE FIND' build/hostile/$$t.log | cut -c1-300; \
	done; [ $$finds -eq 0 ]

# Held-out real projects (Debian bookworm sources, pinned) built and tested through gcc -B
# with GNU ld and with linkharness (tests/real_suites/projects.py; about an hour on 2 cores).
# REAL_ARGS='--only zlib jansson' narrows it.  Needs Debian's googletest package for fmt.
real-projects: $(STAMP)
	$(PY) tests/real_suites/projects.py --work build/real-projects $(REAL_ARGS)

# mold's own test suite (the `test` directory of a mold checkout you name: MOLD_SUITE=DIR)
# run with GNU ld and then linkharness as `cc -B.`'s linker, PIE and -no-pie, two jobs at a
# time: a table of what linkharness does with each test GNU ld passes, and
# build/mold-suite.json.
MOLD_SUITE ?=
mold-suite: $(STAMP)
	$(PY) tests/real_suites/mold_suite.py --suite "$(MOLD_SUITE)" --json build/mold-suite.json $(MOLD_SUITE_ARGS)

# held-out C programs no one here wrote (Debian sources built by their own makefiles, and
# the directories or manifests you name: HELDOUT_ARGS='--c-programs DIR --manifest FILE'),
# linked by GNU ld, run natively and under the emulator: a table of how many print and exit
# the same (tests/real_suites/heldout_programs.py)
heldout-programs: $(STAMP)
	$(PY) tests/real_suites/heldout_programs.py --work build/heldout-programs --json build/heldout-programs.json $(HELDOUT_ARGS)

# Held-out single-file C programs (directories prepared outside the repository, named in
# HELDOUT_MACHO) built for macOS, linked by ld64.lld-14 and by linkharness and run under the
# emulated dyld, each compared with its native gcc run: a table of same/differs/fault.
HELDOUT_MACHO ?=
heldout-macho: $(STAMP)
	$(PY) tests/real_suites/heldout_macho_programs.py --json build/heldout-macho.json $(HELDOUT_MACHO_ARGS) $(HELDOUT_MACHO)

bench: $(STAMP)
	$(PY) bench/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check linker oracle fuzz tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy linker oracle fuzz bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
