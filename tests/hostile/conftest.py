"""The hostile campaigns' seeds (fuzz.hostile.seeds), built once for tests/hostile."""

from __future__ import annotations

import pytest

from fuzz.hostile.seeds import Targets, build_targets


@pytest.fixture(scope="session")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Targets:
    return build_targets(tmp_path_factory.mktemp("hostile-seeds"))
