"""Hypothesis profiles and shared fixtures of the fuzz properties.

Every property is a module-level `@given` test whose fixtures are session- or module-scoped,
so that pytest and HypoFuzz (`make fuzz`, fuzz/campaign.py) collect the same functions.

Profiles: `ci` (the default) is deterministic and small; `fuzz` draws fresh examples and,
under plain pytest (`pytest fuzz --hypothesis-profile=fuzz`, `linkharness hunt`), keeps
re-running each property until its share of FUZZ_SECONDS (environment, default 600) is used
up (`pytest_pyfunc_call` below).  HypoFuzz ignores max_examples and runs until stopped.

`--subject NAME` (`--subject-cmd 'PATH {args}'`) judges another linker in linkharness's seat
(fuzz/subject.py); properties whose format it cannot link are deselected.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, is_hypothesis_test, settings

from fuzz import subject
from fuzz.campaign import start_tally_flusher
from fuzz.coverage import SESSION
from fuzz.database import example_database
from fuzz.hypofuzz_patches import hypofuzz_compat, narrow_hypofuzz_tracing
from fuzz.inventory import render
from fuzz.libtrace import build_libraries
from fuzz.scratch import RecyclingDirs, make_scratch

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture]
settings.register_profile("ci", max_examples=40, derandomize=True, deadline=None,
                          suppress_health_check=_SLOW_OK, print_blob=True, database=None)
# The campaign's database: Redis when LINKHARNESS_FUZZ_DB=redis://HOST:PORT (several
# machines, one campaign), else the local .hypothesis/examples directory (fuzz/database.py).
settings.register_profile("fuzz", max_examples=25, deadline=None, derandomize=False,
                          suppress_health_check=_SLOW_OK, print_blob=True,
                          database=example_database())
# Replays what a campaign's database holds and draws nothing new: `linkharness hunt --pull`
# runs the properties under it to turn a campaign's failures into corpus cases.
settings.register_profile("replay", settings.get_profile("fuzz"), phases=[Phase.reuse])
# `--hypothesis-profile` is applied before this conftest is imported; only replace
# Hypothesis's own default.
if getattr(settings, "_current_profile", "default") == "default":
    settings.load_profile("ci")

_SESSION_START = time.monotonic()
_PENDING = {"tests": 0}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("linkharness fuzz")
    group.addoption("--subject", choices=subject.SUBJECTS, default=None,
                    help="the linker judged in linkharness's seat (fuzz/subject.py)")
    group.addoption("--subject-cmd", default=None, metavar="'PATH {args}'",
                    help="with --subject cmd: a linker taking GNU ld's arguments at {args}")
    group.addoption("--subject-allow", action="append", default=[], metavar="RULE",
                    help="a checker rule the subject may break (repeatable)")


def _in_hypofuzz_run() -> bool:
    try:
        from hypofuzz.detection import in_hypofuzz_run
    except ImportError:  # HypoFuzz is a dev extra; plain pytest needs no part of it
        return False
    return in_hypofuzz_run()


def pytest_configure(config: pytest.Config) -> None:
    start_tally_flusher(SESSION)  # only inside a `make fuzz` campaign's workers
    if _in_hypofuzz_run():
        hypofuzz_compat()
        narrow_hypofuzz_tracing()
    chosen = config.getoption("--subject", None)
    if chosen:
        subject.choose(chosen, config.getoption("--subject-cmd", None),
                       config.getoption("--subject-allow", []))


def _subject_links(item: pytest.Item) -> bool:
    """Whether the chosen subject can link what `item` links (ELF or Mach-O x86-64)."""
    module = item.path.name
    if module == "test_shared.py":  # links linkharness in process, in either seat
        return subject.name() == "linkharness"
    if subject.name() == "ld64.lld":
        return module == "test_macho_properties.py" and "elf" not in item.name
    return subject.name() == "linkharness" or not module.startswith("test_macho")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if subject.active():
        dropped = [i for i in items if not _subject_links(i)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [i for i in items if _subject_links(i)]
    if _fuzzing():
        for item in items:
            if _is_property(item):
                # the database key HypoFuzz gives every property (pytest's plugin does so only
                # for parametrized ones), so that plain pytest replays what a campaign found
                inner = item.obj.hypothesis.inner_test  # type: ignore[attr-defined]
                inner._hypothesis_internal_add_digest = item.nodeid.encode()
    _PENDING["tests"] = sum(_is_property(i) or "repeat_property" in getattr(i, "fixturenames", ())
                            for i in items)


def _is_property(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and is_hypothesis_test(item.obj)


def _fuzzing() -> bool:
    """Whether the loaded profile is a campaign's (fuzz, replay), not ci's derandomized one."""
    current = settings.default
    return current is not None and not current.derandomize


def _share_ends() -> float:
    """When the running test's share of the FUZZ_SECONDS budget ends (monotonic clock): the
    budget left, split evenly over the properties still to run."""
    budget = float(os.environ.get("FUZZ_SECONDS", "600"))
    remaining = budget - (time.monotonic() - _SESSION_START)
    return time.monotonic() + remaining / max(_PENDING["tests"], 1)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Under the fuzz profile, call a property again and again (each call draws fresh
    examples) until its share of FUZZ_SECONDS is spent; under ci, pytest's own single call."""
    current = settings.default
    drawing = current is not None and Phase.generate in current.phases
    if not (_fuzzing() and drawing and _is_property(pyfuncitem)):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    args = {name: pyfuncitem.funcargs[name] for name in names}
    until = _share_ends()
    try:
        pyfuncitem.obj(**args)
        while time.monotonic() < until:
            pyfuncitem.obj(**args)
    finally:
        _PENDING["tests"] = max(_PENDING["tests"] - 1, 1)
    return True


@pytest.fixture(scope="session")
def tmp_path_factory(request: pytest.FixtureRequest) -> Iterator[RecyclingDirs]:
    """A directory of this session's own, on a RAM file system when there is a usable one
    (fuzz/scratch.py: file churn on a disk costs each example CPU), else in the default
    temporary directory.  It is removed at the end, unless a test failed under pytest: then
    its files stay for the messages that name them.  (pytest's own factory cannot be used
    under HypoFuzz, which has torn the pytest session down before it fuzzes.)"""
    base = make_scratch("linkharness-fuzz-")
    yield RecyclingDirs(base)
    if getattr(request.session, "testsfailed", 0):
        print(f"\nfuzz scratch kept (a test failed): {base}")
        return
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def tmp_path(tmp_path_factory: RecyclingDirs) -> Path:
    """pytest's `tmp_path`, from the factory above (pytest's own reads attributes of its own
    factory class at teardown)."""
    return tmp_path_factory.mktemp("tmp")


@pytest.fixture(scope="session")
def libtrace_dir(tmp_path_factory: RecyclingDirs) -> Path:
    """The real libtrace1..3.so, built once per session."""
    directory = tmp_path_factory.mktemp("libtrace")
    build_libraries(directory)
    return directory


@pytest.fixture(scope="session")
def libtrace_dir_i386(tmp_path_factory: RecyclingDirs) -> Path:
    """The i386 libtrace1..3.so (gcc -m32), in a directory of their own."""
    directory = tmp_path_factory.mktemp("libtrace_i386")
    build_libraries(directory, m32=True)
    return directory


@pytest.fixture(scope="session")
def libtrace_paths(libtrace_dir: Path) -> dict[int, Path]:
    return {n: libtrace_dir / f"libtrace{n}.so" for n in (1, 2, 3)}


@pytest.fixture
def repeat_property() -> Iterator[Callable[[Callable[[], None]], None]]:
    """The old shape, kept so that a property written inside a test still runs: run a nested
    @given property once (ci), or until this test's share of FUZZ_SECONDS is spent (fuzz).
    HypoFuzz cannot see such a property (tests/fuzz/test_campaign.py fails on one): write
    new properties as module-level @given tests instead."""

    def run(prop: Callable[[], None]) -> None:
        prop()
        if not _fuzzing():
            return
        until = _share_ends()
        while time.monotonic() < until:
            prop()

    yield run
    _PENDING["tests"] = max(_PENDING["tests"] - 1, 1)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    """What the drawn examples covered (fuzz profile, or --hypothesis-show-statistics)."""
    wanted = config.getoption("hypothesis_show_statistics", False) or not (
        settings.default is None or settings.default.derandomize)
    if not wanted or not SESSION:
        return
    examples = SESSION["examples"]
    terminalreporter.section(f"fuzz coverage: {examples} examples")
    for label, count in sorted(SESSION.items()):
        if label != "examples":
            terminalreporter.write_line(f"  {label:<44} {count:>7}  {100 * count / max(examples, 1):5.1f}%")
    terminalreporter.section("feature inventory (fuzz/inventory.py): examples drawing each row")
    render(SESSION, terminalreporter.write_line)
