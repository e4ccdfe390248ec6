"""oracle.collector: the judges run with the cycle collector paused, and restore it."""

from __future__ import annotations

import gc

import pytest

from oracle.collector import collector_paused


@collector_paused
def _state() -> bool:
    return gc.isenabled()


@collector_paused
def _fails() -> None:
    raise ValueError("a judge's own error")


def test_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    assert _state() is False
    assert gc.isenabled()


def test_restored_after_an_error() -> None:
    with pytest.raises(ValueError):
        _fails()
    assert gc.isenabled()


def test_left_off_when_the_caller_had_it_off() -> None:
    gc.disable()
    try:
        assert _state() is False
        assert not gc.isenabled()  # the caller's choice survives the call
    finally:
        gc.enable()


def test_the_judges_are_paused() -> None:
    """oracle.check and the field oracle both run paused (their entry points' wrappers)."""
    import oracle.check
    from oracle.relocs import check as field_check

    assert getattr(oracle.check.check, "__wrapped__", None) is not None
    assert getattr(field_check.check_fields_report, "__wrapped__", None) is not None
