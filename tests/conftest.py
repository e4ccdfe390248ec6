"""Settings for every test: a link server that a test's link through the shims starts
(linker/link_server.py) leaves 30 s after the run's last link rather than five minutes."""

from __future__ import annotations

import os

os.environ.setdefault("LINKHARNESS_SERVER_IDLE", "30")
